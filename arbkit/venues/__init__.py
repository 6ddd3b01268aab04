"""One module per venue (book sync rules, instrument metadata), shared by the file converters and the live recorder."""
