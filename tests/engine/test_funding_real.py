"""Funding paid on a real capture that carries funding rates: Bitget's futures ``ticker`` (capitalRate for
nextSettleTime, markPrice), 30 s of DASHUSDT and UNIUSDT perpetuals recorded on 2022-04-07.

The capture ends hours before the funding time it announces, so the replay's clock runs on past it
(``clock_end``, as a paper run's wall clock does) with a position held: the ledger row is worked out here
from the raw ticker lines, not from the converted rows.
"""
import gzip
import json
import warnings

import pytest

from arbkit.convert import run_converter
from arbkit.engine import codes as c
from arbkit.kpi import compute_kpis
from arbkit.run.replay import replay
from helpers.paths import shared
from helpers.script_strategy import script_strategy

SRC = ("cryptofeed_recordings", "cryptofeed_BITGET.jsonl.gz")


@pytest.fixture(scope="module")
def bitget():
    src = shared(*SRC)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_converter("cryptofeed", [src])
    last = {}  # instId -> the last ticker data line (by receive time)
    for line in gzip.open(src, "rt"):
        r = json.loads(line)
        if r["t"] != "recv":
            continue
        m = json.loads(r["data"])
        if m.get("arg", {}).get("channel") == "ticker" and m["arg"]["instType"] == "mc" and "data" in m:
            for d in m["data"]:
                if d["instId"] not in last or r["ts"] >= last[d["instId"]][0]:
                    last[d["instId"]] = (r["ts"], d)
    return res, last


@pytest.mark.parametrize("side", [1, -1])
def test_a_position_held_across_the_announced_funding_time_pays_the_last_rate_at_the_last_mark(bitget, side):
    res, last = bitget
    keys = [i.key for i in res.instruments]
    a = keys.index("bitget-futures:DASHUSDT")
    inst = res.instruments[a]
    _, d = last["DASHUSDT"]
    rate, mark, when = float(d["capitalRate"]), float(d["markPrice"]), int(d["nextSettleTime"]) * 1_000_000
    ev = res.events
    t0, t1 = int(ev.ts_local[0]), int(ev.ts_local[-1])
    assert t1 < when  # the capture ends before the funding time
    qty = 10 * inst.lot_size
    strat, params = script_strategy([(t0 + 5 * 10**9, 0, a, side, 0.0, qty, 3, 0)])  # a market order after 5 s
    out = replay(ev, strat, params, instruments=res.instruments, latency={"entry": 0, "response": 0},
                 clock_end=when + 10**9, allow_crossed=True)
    pos = float(out.accounts[a, c.A_POS])
    assert pos == pytest.approx(side * qty) and len(out.fills) >= 1
    want = -pos * inst.contract_size * mark * rate
    assert rate != 0.0 and want != 0.0
    (row,) = out.funding
    assert (int(row["ts"]), int(row["asset"]), float(row["mark"]), int(row["mark_source"]), float(row["rate"])) == (
        when, a, mark, 1, rate)
    assert float(row["amount"]) == want and float(row["position"]) == pos
    assert out.accounts[a, c.A_FUNDING] == want
    k = compute_kpis(out)
    assert k["instruments"][inst.key]["funding_pnl"] == want == k["total"]["funding_pnl"]
    assert k["total"]["trading_pnl"] == pytest.approx(k["total"]["total_pnl"] - want, abs=1e-12)
    # without the clock running on, the capture ends before the funding time: nothing is paid
    short = replay(ev, strat, params, instruments=res.instruments, latency={"entry": 0, "response": 0},
                   allow_crossed=True)
    assert len(short.funding) == 0 and short.fills_hash == out.fills_hash
