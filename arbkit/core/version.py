"""The package version (one place; reports and sweep manifests record it)."""

__version__ = "0.1.0"
