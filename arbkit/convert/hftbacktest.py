"""hftbacktest ``.npz`` event arrays <-> arbkit events.

hftbacktest (v2) stores one asset's feed as a structured array ``data`` with fields
``ev, exch_ts, local_ts, px, qty, order_id, ival, fval``. ``ev`` holds the event type in
its low byte (1 depth, 2 trade, 3 depth clear, 4 depth snapshot, 5 BBO) and flags:
EXCH_EVENT (1<<31), LOCAL_EVENT (1<<30), BUY (1<<29), SELL (1<<28). Only events flagged
LOCAL (what the strategy sees) are converted. Clears of both sides at one timestamp
become one CLEAR row. ``export_hftbacktest`` writes the reverse, so the same events can
be replayed by hftbacktest for the peer benchmark (see its docstring for the clock and
the clear rows).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from arbkit.core.errors import DataError
from arbkit.core.columns import EventColumns
from arbkit.core.schema import ASK, BID, Kind
from arbkit.venues.common import ConversionResult, InstrumentTable

EXCH_EVENT = 1 << 31
LOCAL_EVENT = 1 << 30
BUY_EVENT = 1 << 29
SELL_EVENT = 1 << 28
HB_DEPTH, HB_TRADE, HB_CLEAR, HB_SNAPSHOT, HB_BBO = 1, 2, 3, 4, 5
HB_EVENT_DTYPE = np.dtype([("ev", "<u8"), ("exch_ts", "<i8"), ("local_ts", "<i8"), ("px", "<f8"), ("qty", "<f8"),
                           ("order_id", "<u8"), ("ival", "<i8"), ("fval", "<f8")], align=True)
_TO_KIND = {HB_DEPTH: Kind.DEPTH, HB_TRADE: Kind.TRADE, HB_CLEAR: Kind.CLEAR, HB_SNAPSHOT: Kind.SNAPSHOT,
            HB_BBO: Kind.BBO}


def _load(path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as z:
            if "data" not in z.files:
                raise DataError(f"npz has no 'data' array (found {z.files})", path=path, field="data")
            data = z["data"]
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"not a readable .npz file ({exc})", path=path) from None
    missing = [f for f in ("ev", "exch_ts", "local_ts", "px", "qty") if f not in (data.dtype.names or ())]
    if missing:
        raise DataError(f"event array lacks fields {missing}", path=path, field=missing[0])
    return data


def convert_hftbacktest(sources: Sequence[str | Path], *, venue: str = "hftbacktest", symbols: Sequence[str] = (),
                        instruments: dict[str, dict[str, Any]] | None = None) -> ConversionResult:
    """One instrument per file (symbol = file stem unless ``symbols`` names them)."""
    table = InstrumentTable(overrides=instruments)
    parts = []
    report: dict[str, Any] = {"format": "hftbacktest", "files": {}}
    for i, src in enumerate(Path(s) for s in sources):
        data = _load(src)
        sym = symbols[i] if i < len(symbols) else src.name.split(".")[0]
        asset = table.asset(venue, sym)
        ev = data["ev"].astype(np.uint64)
        local = (ev & np.uint64(LOCAL_EVENT)) != 0
        etype = (ev & np.uint64(0xFF)).astype(np.int64)
        keep = local & np.isin(etype, list(_TO_KIND))
        d, et, e = data[keep], etype[keep], ev[keep]
        kind = np.zeros(len(d), dtype=np.uint8)
        for hb, k in _TO_KIND.items():
            kind[et == hb] = k
        side = np.where((e & np.uint64(BUY_EVENT)) != 0, BID, np.where((e & np.uint64(SELL_EVENT)) != 0, ASK, 0))
        cols = EventColumns.from_arrays(ts_exch=d["exch_ts"], ts_local=d["local_ts"],
                                        asset=np.full(len(d), asset), kind=kind, side=side, price=d["px"],
                                        qty=d["qty"], seq=np.full(len(d), -1))
        clear = cols.kind == Kind.CLEAR
        dup = clear & np.concatenate(([False], clear[:-1] & (cols.ts_local[1:] == cols.ts_local[:-1])))
        cols = cols.take(~dup)
        cols = cols.replace(side=np.where(cols.kind == Kind.CLEAR, 0, cols.side).astype(np.int8),
                            price=np.where(cols.kind == Kind.CLEAR, 0.0, cols.price))
        bad = np.flatnonzero((cols.side == 0) & (cols.kind != Kind.CLEAR))
        if bad.size:
            raise DataError("event has neither BUY nor SELL flag", path=src, row=int(bad[0]), field="ev")
        if np.any(np.diff(cols.ts_local) < 0):
            r = int(np.flatnonzero(np.diff(cols.ts_local) < 0)[0]) + 1
            raise DataError("local_ts goes backwards", path=src, row=r, field="local_ts")
        tick = _infer_tick(cols.price[cols.kind != Kind.CLEAR])
        table.set_meta(asset, tick_size=tick, lot_size=_infer_tick(cols.qty[cols.qty > 0]))
        parts.append(cols)
        report["files"][src.name] = {"events_in": int(len(data)), "local_events": int(keep.sum()),
                                     "rows_out": len(cols)}
    allcols = EventColumns.concat(parts)
    allcols = allcols.take(np.argsort(allcols.ts_local, kind="stable"))
    return ConversionResult(events=allcols, instruments=table.instruments(), report=report,
                            sources=[str(s) for s in sources])


def _infer_tick(values: np.ndarray) -> float:
    """The coarsest power of ten every value is (numerically) a multiple of."""
    if values.size == 0:
        return 1.0
    sample = values[: 100_000]
    for d in range(0, 12):
        scaled = sample * 10.0 ** d
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6 * np.maximum(1.0, np.abs(scaled)) * 1e-3 + 1e-6):
            return round(10.0 ** -d, d)
    return 1e-12


def hftbacktest_events(cols: EventColumns, asset: int) -> np.ndarray:
    """One asset's events as an hftbacktest event array, on arbkit's one clock.

    * ``exch_ts = local_ts = ts_local`` and every row is flagged EXCH|LOCAL: arbkit's
      simulated exchange meets each event at its ``ts_local`` (the feed delay is already
      in the recording), so hftbacktest's exchange must see the book at the same time for a
      like-for-like comparison. The recorded ``ts_exch`` is on the venue's clock, which need
      not agree with the recorder's (seconds apart on some captures); feeding it as exchange
      time would show hftbacktest's exchange the book early or late.
    * A CLEAR becomes one DEPTH_CLEAR row with neither BUY nor SELL flag, which hftbacktest
      applies to both sides (a side-flagged clear only removes that side's levels from its
      ``px`` on, so a price of 0.0 would clear every bid but no ask).
    * TRADE rows carry the aggressor as BUY/SELL (hftbacktest's convention too); BBO rows
      become DEPTH_BBO rows; GAP rows have no hftbacktest event and are dropped (the CLEAR
      and snapshot that follow a gap re-image the book).
    """
    back = {int(v): k for k, v in _TO_KIND.items()}
    rows = np.flatnonzero((cols.asset == asset) & np.isin(cols.kind, list(back)))
    sel = cols.take(rows)
    code = np.zeros(256, np.uint64)
    for k, hb in back.items():
        code[k] = hb
    clear = sel.kind == Kind.CLEAR
    bad = np.flatnonzero(~clear & (sel.side == 0))
    if bad.size:
        raise DataError("a non-CLEAR event has no side (+1 or -1)", row=int(rows[bad[0]]), field="side")
    side_flag = np.where(clear, 0, np.where(sel.side > 0, BUY_EVENT, SELL_EVENT)).astype(np.uint64)
    out = np.zeros(len(sel), dtype=HB_EVENT_DTYPE)
    out["ev"] = np.uint64(EXCH_EVENT | LOCAL_EVENT) | side_flag | code[sel.kind]
    out["exch_ts"] = sel.ts_local
    out["local_ts"] = sel.ts_local
    out["px"] = np.where(clear, 0.0, sel.price)
    out["qty"] = np.where(clear, 0.0, sel.qty)
    return out


def export_hftbacktest(cols: EventColumns, asset: int, path: str | Path) -> int:
    """Write :func:`hftbacktest_events` of one asset as an hftbacktest npz; returns the row count."""
    out = hftbacktest_events(cols, asset)
    np.savez_compressed(path, data=out)
    return len(out)
