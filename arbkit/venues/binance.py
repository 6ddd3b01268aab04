"""Binance spot / USD-M / COIN-M order-book sync, by Binance's documented rules.

Depth diffs that arrive before the REST snapshot are buffered. When the snapshot
(``lastUpdateId`` = L) arrives, buffered diffs with ``u`` below it are dropped
(spot: ``u <= L``; futures: ``u < L``) and the first kept diff must bridge it
(spot: ``U <= L+1 <= u``; futures: ``U <= L <= u``). From then on every diff must
chain (spot: ``U == prev_u + 1``; futures: ``pu == prev_u``); a break emits a GAP
event and the book waits for the next snapshot. Buffered diffs applied at the
snapshot are stamped with the snapshot's ``ts_local`` (the earliest moment a live
client could apply them), keeping their own ``ts_exch``.

The same class drives the file converter and the live recorder.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arbkit.core.errors import DataError
from arbkit.core.schema import ASK, BID, BUY, SELL, Kind
from arbkit.venues.common import NS_PER_MS, EventSink

MAX_BUFFERED_DIFFS = 200_000


def market_of(data: dict[str, Any]) -> str | None:
    """'spot', 'usdm' or 'coinm' from a depth/bookTicker/trade payload, or None if it cannot tell.

    COIN-M payloads carry ``ps`` (pair); USD-M depth carries ``pu`` and USD-M bookTickers an
    ``e`` field (spot bookTickers have none); spot trades carry ``M``, futures trades ``X``.
    """
    if "ps" in data or "pair" in data:
        return "coinm"
    e = data.get("e")
    if "pu" in data or e == "bookTicker":
        return "usdm"
    if e == "depthUpdate" or (e is None and "u" in data and "b" in data):
        return "spot"
    if e in ("trade", "aggTrade"):
        return "spot" if "M" in data else ("usdm" if "X" in data or e == "aggTrade" and "M" not in data else None)
    return None


VENUE_NAMES = {"spot": "binance", "usdm": "binance-usdm", "coinm": "binance-coinm"}
# VIP0 list fees (bps) at the time of writing; override per instrument with --instruments.
DEFAULT_FEES = {"spot": (10.0, 10.0), "usdm": (2.0, 5.0), "coinm": (2.0, 5.0)}


def instrument_meta(market: str, symbol: str) -> dict[str, Any]:
    """Contract type, quote currency, contract size and default fees of a Binance symbol."""
    maker, taker = DEFAULT_FEES[market]
    meta: dict[str, Any] = {"maker_fee_bps": maker, "taker_fee_bps": taker}
    if market == "spot":
        meta.update(contract_type="spot", quote_currency=_spot_quote(symbol))
    elif market == "usdm":
        dated = "_" in symbol
        meta.update(contract_type="linear_future" if dated else "linear_perp",
                    quote_currency=_spot_quote(symbol.split("_")[0]))
    else:
        dated = not symbol.endswith("_PERP")
        meta.update(contract_type="inverse_future" if dated else "inverse_perp", quote_currency="USD",
                    contract_size=100.0 if symbol.startswith("BTC") else 10.0)
    return meta


def _spot_quote(symbol: str) -> str:
    for q in ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY", "BRL", "USD"):
        if symbol.endswith(q) and len(symbol) > len(q):
            return q
    return ""


@dataclass
class _AppliedDiff:
    first: int
    last: int
    levels: list[tuple[int, float, float]]


@dataclass
class BookCheck:
    """Diff log of one unbroken chain, kept to compare bookTickers with the rebuilt top afterwards."""

    base_bids: dict[float, float] = field(default_factory=dict)
    base_asks: dict[float, float] = field(default_factory=dict)
    diffs: list[_AppliedDiff] = field(default_factory=list)


class BinanceBookSync:
    """Turns one Binance symbol's depth/bookTicker/trade messages into schema rows."""

    def __init__(self, sink: EventSink, asset: int, market: str, symbol: str, *, check_bbo: bool = False) -> None:
        if market not in VENUE_NAMES:
            raise ValueError(f"unknown Binance market {market!r}")
        self.sink, self.asset, self.market, self.symbol = sink, asset, market, symbol
        self.futures = market != "spot"
        self.synced = False
        self._bridge_pending = False  # the next applied diff must bridge the snapshot
        self.last_u: int | None = None
        self.buffer: list[tuple[int, dict[str, Any], str]] = []
        self.snapshots = 0
        self.diffs_applied = 0
        self.stale_dropped = 0
        self.gaps = 0
        self.check_bbo = check_bbo
        self.chains: list[BookCheck] = []
        self.tickers: list[tuple[int, float, float, float, float]] = []
        self._bids: dict[float, float] = {}
        self._asks: dict[float, float] = {}

    # -- messages ---------------------------------------------------------------------------

    def on_snapshot(self, ts_local: int, snap: dict[str, Any], where: str) -> None:
        """A REST depth snapshot: image the book, then apply the buffered diffs that follow it."""
        try:
            last_id = int(snap["lastUpdateId"])
            bids, asks = snap["bids"], snap["asks"]
        except (KeyError, TypeError, ValueError):
            raise DataError("REST depth snapshot lacks lastUpdateId/bids/asks", path=where) from None
        if self.synced and self.last_u is not None and last_id <= self.last_u:
            self.sink.count("binance_snapshots_ignored_older_than_book")
            return
        ts_exch = int(snap["E"]) * NS_PER_MS if "E" in snap else ts_local
        self.snapshots += 1
        self.sink.emit_snapshot(ts_exch, ts_local, self.asset, bids, asks, last_id, where=where)
        self.synced = True
        self.last_u = last_id
        self._bridge_pending = True
        if self.check_bbo:
            self._bids = {float(p): float(q) for p, q in bids if float(q) > 0}
            self._asks = {float(p): float(q) for p, q in asks if float(q) > 0}
            self.chains.append(BookCheck(dict(self._bids), dict(self._asks)))
        pending, self.buffer = self.buffer, []
        for _, diff, w in pending:
            if not self.synced:
                self.buffer.append((ts_local, diff, w))
                continue
            self._on_synced_diff(ts_local, diff, w)

    def on_diff(self, ts_local: int, diff: dict[str, Any], where: str) -> None:
        """A depth diff: buffered before a snapshot, else applied or a GAP on a break."""
        if not self.synced:
            if len(self.buffer) >= MAX_BUFFERED_DIFFS:
                self.buffer.pop(0)
                self.sink.count("binance_buffer_overflow_dropped")
            self.buffer.append((ts_local, diff, where))
            return
        self._on_synced_diff(ts_local, diff, where)

    def on_book_ticker(self, ts_local: int, bt: dict[str, Any], where: str) -> None:
        """A bookTicker: a BBO row."""
        ts_exch = int(bt["E"]) * NS_PER_MS if "E" in bt else ts_local
        u = int(bt.get("u", -1))
        self.sink.emit_bbo(ts_exch, ts_local, self.asset, bt["b"], bt["B"], bt["a"], bt["A"], u, where=where)
        if self.check_bbo:
            self.tickers.append((u, float(bt["b"]), float(bt["B"]), float(bt["a"]), float(bt["A"])))

    def on_trade(self, ts_local: int, tr: dict[str, Any], where: str) -> None:
        """A trade: a TRADE row with the aggressor side."""
        ts_exch = int(tr.get("T", tr.get("E"))) * NS_PER_MS
        side = SELL if tr.get("m") else BUY  # m: buyer is the maker, so the seller took liquidity
        trade_id = int(tr["t"] if "t" in tr else tr.get("a", -1))
        self.sink.emit_trade(ts_exch, ts_local, self.asset, side, tr["p"], tr["q"], trade_id, where=where)

    def finish(self, where: str) -> None:
        """End of input: diffs still buffered mean the book never synced."""
        if not self.synced and self.buffer:
            self.sink.count("binance_diffs_without_snapshot", len(self.buffer))

    # -- internals --------------------------------------------------------------------------

    def _on_synced_diff(self, ts_local: int, d: dict[str, Any], where: str) -> None:
        try:
            first, last = int(d["U"]), int(d["u"])
        except (KeyError, TypeError, ValueError):
            raise DataError("depthUpdate lacks U/u update ids", path=where, field="U") from None
        assert self.last_u is not None
        if self._bridge_pending:
            if (last <= self.last_u) if not self.futures else (last < self.last_u):
                self.stale_dropped += 1
                return
            ok = (first <= self.last_u + 1 <= last) if not self.futures else (first <= self.last_u <= last)
            if not ok:
                self._gap(ts_local, d, f"first diff after the snapshot (U={first}, u={last}) does not bridge "
                                       f"lastUpdateId={self.last_u}", where)
                return
            self._bridge_pending = False
        else:
            if last <= self.last_u:
                self.stale_dropped += 1
                return
            if self.futures:
                pu = d.get("pu")
                chained = pu is not None and int(pu) == self.last_u
            else:
                chained = first == self.last_u + 1
            if not chained:
                self._gap(ts_local, d, f"sequence break: previous u={self.last_u}, next U={first}"
                                       f"{', pu=' + str(d.get('pu')) if self.futures else ''}", where)
                return
        ts_exch = int(d["E"]) * NS_PER_MS if "E" in d else ts_local
        sink = self.sink
        sink.emit_levels(ts_exch, ts_local, self.asset, Kind.DEPTH, BID, d.get("b", ()), last, where=where)
        sink.emit_levels(ts_exch, ts_local, self.asset, Kind.DEPTH, ASK, d.get("a", ()), last, where=where)
        self.last_u = last
        self.diffs_applied += 1
        if self.check_bbo and self.chains:
            levels = [(BID, float(p), float(q)) for p, q in d.get("b", ())]
            levels += [(ASK, float(p), float(q)) for p, q in d.get("a", ())]
            self.chains[-1].diffs.append(_AppliedDiff(first, last, levels))

    def _gap(self, ts_local: int, d: dict[str, Any], why: str, where: str) -> None:
        ts_exch = int(d["E"]) * NS_PER_MS if "E" in d else ts_local
        self.sink.emit_gap(ts_exch, ts_local, self.asset, int(d.get("u", -1)))
        self.sink.warn(f"{where}: {self.symbol}: {why}; book marked GAP until the next snapshot")
        self.gaps += 1
        self.synced = False
        self._bridge_pending = False
        self.buffer = [(ts_local, d, where)]

    # -- verification -----------------------------------------------------------------------

    def bbo_check(self) -> dict[str, Any]:
        """Compare every bookTicker whose ``u`` falls between two applied diffs with the rebuilt top.

        The book after diff k is the venue's book for update ids in [u_k, U_{k+1}); a bookTicker
        with ``u`` in that range must show the same best bid/ask and quantities.
        """
        tickers = sorted(self.tickers)
        checked = mismatched = 0
        examples: list[dict[str, Any]] = []
        ti = 0
        for chain in self.chains:
            bids, asks = dict(chain.base_bids), dict(chain.base_asks)
            diffs = chain.diffs
            for k, diff in enumerate(diffs):
                for side, p, q in diff.levels:
                    book = bids if side == BID else asks
                    if q == 0.0:
                        book.pop(p, None)
                    else:
                        book[p] = q
                if k + 1 >= len(diffs):
                    break
                lo, hi = diff.last, diffs[k + 1].first
                while ti < len(tickers) and tickers[ti][0] < lo:
                    ti += 1
                while ti < len(tickers) and tickers[ti][0] < hi:
                    u, b, bq, a, aq = tickers[ti]
                    ti += 1
                    if not bids or not asks:
                        continue
                    bb, ba = max(bids), min(asks)
                    checked += 1
                    if (bb, bids[bb], ba, asks[ba]) != (b, bq, a, aq):
                        mismatched += 1
                        if len(examples) < 5:
                            examples.append({"u": u, "ticker": [b, bq, a, aq], "book": [bb, bids[bb], ba, asks[ba]]})
        return {"bbo_checked": checked, "bbo_mismatched": mismatched, "mismatch_examples": examples}

    def final_book(self) -> tuple[dict[float, float], dict[float, float]]:
        """The book rebuilt from the last chain's diffs (dict price -> qty), for tests and reports."""
        if not self.chains:
            return {}, {}
        chain = self.chains[-1]
        bids, asks = dict(chain.base_bids), dict(chain.base_asks)
        for diff in chain.diffs:
            for side, p, q in diff.levels:
                book = bids if side == BID else asks
                if q == 0.0:
                    book.pop(p, None)
                else:
                    book[p] = q
        return bids, asks
