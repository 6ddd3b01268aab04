"""``arbkit info``: one summary of a recording, with the final top of every rebuilt book."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from arbkit.book.scanner import BookScanner
from arbkit.io.recording import Recording

CHUNK_ROWS = 1 << 18


def info(path: str | Path, *, books: bool = True) -> dict[str, Any]:
    """Events, kinds, instruments (with their book checks and metadata sources when recorded), span, gaps and
    (with ``books``) each instrument's final top of book."""
    rec = path if isinstance(path, Recording) else Recording(path)
    m = rec.manifest
    insts = rec.instruments
    out: dict[str, Any] = {
        "path": str(rec.path),
        "schema_version": m.schema_version,
        "complete": m.complete,
        "events": m.events,
        "by_kind": m.by_kind,
        "gaps": m.gaps,
        "start_ns": m.start_ns,
        "end_ns": m.end_ns,
        "span_s": (m.end_ns - m.start_ns) / 1e9 if m.start_ns is not None and m.end_ns is not None else 0.0,
        "parts": len(m.parts),
        "bytes": sum(p.bytes for p in m.parts),
        "instruments": [],
    }
    final = {}
    if books and insts:
        scanner = BookScanner([i.tick_size for i in insts])
        for chunk in rec.iter_chunks(CHUNK_ROWS):
            scanner.feed(chunk)
        final = {a: scanner.final_top(a, i.tick_size) for a, i in enumerate(insts)}
        out["crossed_updates"] = scanner.n_crossed
    per = {e.get("asset"): e for e in m.per_instrument}
    for a, inst in enumerate(insts):
        entry = {"asset": a, "venue": inst.venue, "symbol": inst.symbol, "tick_size": inst.tick_size,
                 "lot_size": inst.lot_size, "contract_type": inst.contract_type,
                 "maker_fee_bps": inst.maker_fee_bps, "taker_fee_bps": inst.taker_fee_bps,
                 "depth_usable": inst.depth_usable}
        for key in ("book_checks", "meta_source"):  # what the venue's book rules allowed checking; value origins
            if key in inst.extra:
                entry[key] = inst.extra[key]
        if a in per:
            entry["events"] = per[a]["events"]
            entry["by_kind"] = per[a]["by_kind"]
        if books:
            entry["final_top"] = final.get(a)
        out["instruments"].append(entry)
    return out
