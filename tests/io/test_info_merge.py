import json
import subprocess
import sys

import numpy as np

import arbkit
from arbkit.core.schema import Instrument, Kind
from helpers.events import make_events
from helpers.paths import BUNDLED


def test_info_json_on_bundled_recording():
    out = subprocess.run([sys.executable, "-m", "arbkit.apps.cli", "info", str(BUNDLED), "--json"], capture_output=True,
                         text=True, check=True)
    data = json.loads(out.stdout)
    for key in ("events", "by_kind", "instruments", "start_ns", "end_ns", "gaps"):
        assert key in data
    assert data["events"] == sum(data["by_kind"].values()) == 1_128_971
    keys = [f"{i['venue']}:{i['symbol']}" for i in data["instruments"]]
    assert keys == ["binance:BTCUSDT", "binance-usdm:BTCUSDT", "binance-coinm:BTCUSD_PERP"]
    usdm = data["instruments"][1]
    # the independent Decimal replay in shared/data/real/PROVENANCE.md: 61659.70 x 1.486 / 61659.80 x 0.981
    assert usdm["final_top"] == {"bid": 61659.7, "bid_qty": 1.486, "ask": 61659.8, "ask_qty": 0.981}
    assert usdm["tick_size"] == 0.1
    assert data["crossed_updates"] == 0


def test_merge_orders_by_ts_local_with_documented_tie_break(tmp_path):
    a = make_events([(1, 0, Kind.TRADE, 1, 1.0, 1.0, 1), (5, 0, Kind.TRADE, 1, 2.0, 1.0, 2),
                     (5, 0, Kind.TRADE, 1, 3.0, 1.0, 3)])
    b = make_events([(0, 0, Kind.TRADE, -1, 10.0, 1.0, 1), (5, 0, Kind.TRADE, -1, 20.0, 1.0, 2),
                     (9, 0, Kind.TRADE, -1, 30.0, 1.0, 3)])
    ia = [Instrument("x", "A", tick_size=1.0, lot_size=1.0)]
    ib = [Instrument("y", "A", tick_size=1.0, lot_size=1.0)]
    ra = arbkit.Recording.write(tmp_path / "a", a, ia)
    rb = arbkit.Recording.write(tmp_path / "b", b, ib)
    merged = arbkit.merge_recordings([ra, rb], tmp_path / "m").to_numpy()
    assert merged.ts_local.tolist() == [0, 1, 5, 5, 5, 9]
    assert merged.price.tolist() == [10.0, 1.0, 2.0, 3.0, 20.0, 30.0]  # equal ts: first recording first, row order kept
    assert merged.asset.tolist() == [1, 0, 0, 0, 1, 1]
    rec = arbkit.load(tmp_path / "m")
    assert [i.key for i in rec.instruments] == ["x:A", "y:A"]
    assert len(rec.manifest.provenance["merged_from"]) == 2


def test_bundled_recording_chunks_equal_whole(bundled):
    whole = bundled.to_numpy()
    parts = list(bundled.iter_chunks(100_000))
    assert max(len(p) for p in parts) <= 100_000
    assert arbkit.EventColumns.concat(parts).equals(whole)
    assert np.all(np.diff(whole.ts_local) >= 0)
