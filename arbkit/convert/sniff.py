"""Tell a source file's format from its name and first line, to say what a file given with the wrong ``-f`` is.

Only a hint for error messages: converters still decide by what they read.
"""
from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

from arbkit.core.errors import DataError

#: What each format's files hold, for "does not look like" messages.
EXPECTED: dict[str, str] = {
    "binance": "Binance websocket capture lines '<local timestamp> <json>' with depthUpdate / bookTicker / trade "
               "messages and a REST depth snapshot",
    "bybit": "Bybit v5 JSON lines with a topic 'orderbook.N.SYMBOL' (also publicTrade / tickers), optionally "
             "prefixed by a local timestamp",
    "cryptofeed": "cryptofeed raw capture JSON lines starting with a {\"t\": \"header\"} line",
    "tardis": "tardis.dev CSV with exchange, symbol, timestamp and local_timestamp columns",
    "lobster": "a LOBSTER message + orderbook CSV pair named TICKER_DATE_START_END_{message|orderbook}_LEVELS.csv",
    "hftbacktest": "hftbacktest .npz event arrays",
    "polymarket": "Polymarket collector JSON arrays named polymarket_<interval>_<asset>_updown_<slug>_<up|down>_"
                  "<orderbooks|trades>.json",
}

_LOBSTER = re.compile(r"[A-Za-z.]+_\d{4}-\d{2}-\d{2}_\d+_\d+_(message|orderbook)_\d+")
_POLYMARKET = re.compile(r"polymarket_[^_]+_[^_]+_updown_\d+_(up|down)_(orderbooks|trades)\.json")


def first_line(path: Path, limit: int = 4096) -> str:
    """The first non-empty line of a plain or gzipped text file (at most ``limit`` characters; '' if unreadable)."""
    try:
        with open(path, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        opener = gzip.open if gz else open
        with opener(path, "rb") as fh:
            for raw in fh:
                text = raw[:limit].decode("utf-8", "replace").strip()
                if text:
                    return text
    except (OSError, EOFError, zlib.error):
        return ""
    return ""


def sniff(path: str | Path) -> str | None:
    """The format ``path`` looks like, or None."""
    p = Path(path)
    if _LOBSTER.match(p.name):
        return "lobster"
    if _POLYMARKET.match(p.name):
        return "polymarket"
    if p.suffix == ".npz":
        return "hftbacktest"
    line = first_line(p)
    head, _, rest = line.partition(" ")
    if head.isdigit() and rest.startswith("{"):
        return "bybit" if '"topic"' in rest else "binance"
    if line.startswith("{"):
        if '"t"' in line and '"header"' in line:
            return "cryptofeed"
        if '"topic"' in line:
            return "bybit"
    if "local_timestamp" in line and "," in line:
        return "tardis"
    return None


def wrong_format(fmt: str, path: str | Path) -> str:
    """' (expected …; it looks like a … file: try -f …)' for a source that does not look like ``fmt``."""
    guess = sniff(path)
    hint = f"; it looks like a {guess} file: try -f {guess}" if guess and guess != fmt else ""
    return f"expected {EXPECTED.get(fmt, fmt)}{hint}"


def hint_wrong_format(exc: DataError, fmt: str, sources: list[str | Path]) -> DataError:
    """``exc`` with the format hint added when the file it names looks like another format; else ``exc``."""
    path = exc.path if exc.path is not None else (str(sources[0]) if len(sources) == 1 else None)
    if path is None or not Path(path).is_file():
        return exc
    guess = sniff(path)
    if guess is None or guess == fmt:
        return exc
    return DataError(f"{exc.problem}: this does not look like a {fmt} file ({wrong_format(fmt, path)})", path=exc.path,
                     row=exc.row, field=exc.field)
