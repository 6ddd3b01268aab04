"""Converters from real vendor/venue formats into arbkit recordings.

``convert(fmt, sources, out)`` runs one converter and writes a recording directory whose
manifest records the source files (name, size, sha256), the converter's report
(sequence checks, gaps, warnings) and, with ``keep_raw``, a compressed copy of the
sources in ``raw/`` so the recording can be re-normalised later.
"""
from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any, Callable, Sequence

from arbkit.convert.cryptofeed import venue_catalog
from arbkit.convert.files import source_provenance
from arbkit.convert.sniff import hint_wrong_format, wrong_format
from arbkit.core.errors import DataError
from arbkit.io.parts import DEFAULT_PART_ROWS, DEFAULT_ROW_GROUP_ROWS
from arbkit.io.recording import Recording
from arbkit.io.writer import write_recording
from arbkit.venues.common import ConversionResult, apply_catalog

# format name -> "module:function"; imported on use so one broken optional path cannot break the rest.
FORMATS: dict[str, str] = {
    "binance": "arbkit.convert.binance_capture:convert_binance",
    "cryptofeed": "arbkit.convert.cryptofeed:convert_cryptofeed",
    "tardis": "arbkit.convert.tardis:convert_tardis",
    "lobster": "arbkit.convert.lobster:convert_lobster",
    "hftbacktest": "arbkit.convert.hftbacktest:convert_hftbacktest",
    "polymarket": "arbkit.convert.polymarket_collector:convert_polymarket",
    "bybit": "arbkit.convert.bybit_capture:convert_bybit",
}


def converter(fmt: str) -> Callable[..., ConversionResult]:
    """The converter function of a format name (a DataError listing the known ones)."""
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; known formats: {', '.join(sorted(FORMATS))}")
    module, func = FORMATS[fmt].split(":")
    return getattr(importlib.import_module(module), func)


def run_converter(fmt: str, sources: Sequence[str | Path], *, venue_meta: Sequence[str | Path] = (),
                  **options: Any) -> ConversionResult:
    """Run a converter in memory (no files written).

    ``venue_meta``: cryptofeed captures whose REST responses (instruments / exchangeInfo / products)
    give the venue's own tick, lot and contract sizes for instruments of ``sources`` (e.g. a Deribit
    capture's ``get_instruments`` for a tardis Deribit file); the values' origin is recorded in each
    instrument's ``extra["meta_source"]``.
    """
    result = converter(fmt)(list(sources), **options)
    if venue_meta:
        result.instruments = apply_catalog(result.instruments, venue_catalog(list(venue_meta)), result.events)
        result.report["venue_meta"] = [Path(p).name for p in venue_meta]
    return result


def convert(fmt: str, sources: Sequence[str | Path], out: str | Path, *, overwrite: bool = False,
            keep_raw: bool = False, part_rows: int = DEFAULT_PART_ROWS, row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
            venue_meta: Sequence[str | Path] = (), **options: Any) -> Recording:
    """Convert ``sources`` in format ``fmt`` and write the recording to ``out`` (``venue_meta``: see
    :func:`run_converter`)."""
    try:
        result = run_converter(fmt, sources, venue_meta=venue_meta, **options)
    except DataError as exc:
        raise hint_wrong_format(exc, fmt, list(sources)) from None
    if len(result.events) == 0:
        where = str(sources[0]) if len(sources) == 1 else ", ".join(str(s) for s in sources)
        raise DataError(f"no {fmt} events in it: this does not look like a {fmt} file ({wrong_format(fmt, sources[0])})",
                        path=where)
    provenance = {"converter": fmt, "sources": source_provenance(list(sources))}
    write_recording(out, result.events, result.instruments, provenance=provenance, conversion=result.report,
                    part_rows=part_rows, row_group_rows=row_group_rows, overwrite=overwrite)
    if keep_raw:
        raw = Path(out) / "raw"
        raw.mkdir(exist_ok=True)
        for s in sources:
            s = Path(s)
            if s.suffix == ".gz":
                shutil.copyfile(s, raw / s.name)
            else:
                import gzip
                with open(s, "rb") as src, gzip.open(raw / (s.name + ".gz"), "wb") as dst:
                    shutil.copyfileobj(src, dst)
    return Recording(out)
