"""A recording merged from three venues' captures replays with the arbitrage.

The shared captures were recorded at different times (Coinbase and Gemini one hour apart
on the same day, Kraken years earlier): no two windows overlap. What these tests show:

* merged on their true clocks, the recording replays, and the arbitrage between Coinbase
  BTC-USD and Gemini BTCUSD makes no trade: the books are never live together (each
  source's books get a GAP where its capture ends, so no stale book is traded against);
* merged with ``align_starts`` (an explicit shift, recorded in the manifest and warned
  about), the same arbitrage runs over both books at once and trades both legs. That run
  exercises the cross-venue machinery on real books; its PnL is not evidence of anything,
  since the two books were never live at the same time.
"""
import warnings

import numpy as np
import pytest

import arbkit
from arbkit.run.replay import replay
from arbkit.convert import convert
from arbkit.io.merge import merge_recordings
from arbkit.core.schema import Instrument, Kind
from arbkit.strategies.arb import arb, round_trips
from arbkit.io.check import validate
from helpers.events import make_events
from helpers.paths import shared

DIR = "cryptofeed_recordings"
VENUES = ("COINBASE", "GEMINI", "KRAKEN")
PARAMS = {"entry_bps": 5.0, "tp_bps": 2.0, "stop_loss_bps": 20.0, "time_limit_s": 5.0, "order_size": 0.01,
          "net_of_fees": 0}
LATENCY = {"entry": 1_000_000, "response": 1_000_000}


@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    d = tmp_path_factory.mktemp("xv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return d, [convert("cryptofeed", [shared(DIR, f"cryptofeed_{ex}.jsonl.gz")], d / ex) for ex in VENUES]


def legs(rec):
    keys = [i.key for i in rec.instruments]
    return keys.index("coinbase:BTC-USD"), keys.index("gemini:BTCUSD")


def test_on_their_own_clocks_the_venues_never_overlap_and_the_arbitrage_does_not_trade(captures):
    d, recs = captures
    merged = merge_recordings(recs, d / "merged")
    assert {i.venue for i in merged.instruments} == {"coinbase", "gemini", "kraken"}
    assert validate(merged.path).ok
    spans = {r.path.name: (int(r.to_numpy().ts_local[0]), int(r.to_numpy().ts_local[-1])) for r in recs}
    assert spans["KRAKEN"][1] < spans["COINBASE"][0] and spans["COINBASE"][1] < spans["GEMINI"][0]
    end_gaps = merged.manifest.provenance["end_gaps"]
    assert sorted(end_gaps[str(recs[0].path)]) == ["coinbase:BTC-USD", "coinbase:ETH-USD"]
    assert str(recs[1].path) not in end_gaps  # Gemini ends last
    a, b = legs(merged)
    res = replay(merged, arb(), {**PARAMS, "asset_a": a, "asset_b": b}, latency=LATENCY)
    assert len(res.fills) == 0 and res.summary()["events"] == merged.n_events


def test_aligned_onto_one_start_the_arbitrage_trades_both_legs(captures):
    d, recs = captures
    with pytest.warns(UserWarning, match="not data that happened together"):
        merged = merge_recordings(recs, d / "aligned", align_starts=True)
    prov = merged.manifest.provenance
    assert prov["time_shifted"] is True and "not simultaneous" in prov["note"]
    starts = [int(r.to_numpy().ts_local[0]) for r in recs]
    assert [m["time_shift_ns"] for m in prov["merged_from"]] == [starts[0] - s for s in starts]
    assert validate(merged.path).ok
    a, b = legs(merged)
    ev = merged.to_numpy()
    # spot legs: the arbitrage holds the coin it sells (allow_short; by default spot cannot go below zero)
    res = replay(merged, arb(), {**PARAMS, "asset_a": a, "asset_b": b}, latency=LATENCY, allow_short=True)
    again = replay(ev, arb(), {**PARAMS, "asset_a": a, "asset_b": b}, latency=LATENCY, instruments=merged.instruments,
                   chunk_rows=1_000, allow_short=True)
    f = res.fills
    assert len(f) >= 4 and res.fills_hash == again.fills_hash
    assert set(f["asset"].tolist()) == {a, b} and set(f["side"].tolist()) == {1, -1}
    assert np.all(f["slip_touch_bps"] >= 0)  # takers at or through the touch they met
    # every fill while both books were live (the aligned windows' overlap)
    live = [(int(ev.ts_local[ev.asset == x][0]), int(ev.ts_local[ev.asset == x][-1])) for x in (a, b)]
    assert np.all((f["ts"] >= max(s for s, _ in live)) & (f["ts"] <= min(e for _, e in live) + 10_000_000))
    trips = round_trips(res)
    assert len(trips) >= 1


def test_end_gaps_only_for_books_of_recordings_that_end_early(tmp_path):
    book = make_events([(1, 0, Kind.CLEAR, 0, 0.0, 0.0, 0), (1, 0, Kind.SNAPSHOT, 1, 99.0, 1.0, 0),
                        (1, 0, Kind.SNAPSHOT, -1, 101.0, 1.0, 0), (4, 0, Kind.DEPTH, 1, 99.0, 2.0, 1)])
    trades = make_events([(2, 0, Kind.TRADE, 1, 5.0, 1.0, 1), (3, 0, Kind.TRADE, 1, 5.0, 1.0, 2)])
    later = make_events([(0, 0, Kind.CLEAR, 0, 0.0, 0.0, 0), (9, 0, Kind.TRADE, -1, 7.0, 1.0, 1)])
    recs = [arbkit.Recording.write(tmp_path / n, e, [Instrument(n, "X", 1.0, 1.0)])
            for n, e in (("a", book), ("b", trades), ("c", later))]
    m = merge_recordings(recs, tmp_path / "m")
    ev = m.to_numpy()
    gaps = [(int(t), int(a)) for t, a, k in zip(ev.ts_local, ev.asset, ev.kind) if k == Kind.GAP]
    assert gaps == [(4, 0)]  # a's book at its last row; b had no book; c ends last
    assert ev.kind[ev.ts_local == 4].tolist() == [Kind.DEPTH, Kind.GAP]
    assert m.manifest.provenance["end_gaps"] == {str(recs[0].path): ["a:X"]}
