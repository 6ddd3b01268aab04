"""pm_mm on the Polymarket samples: both tokens quoted, never a negative token balance, settled beside marked PnL;
several markets in one run equal single runs when the shared budget does not bind; batched and paper-style runs
equal single replays."""
import dataclasses

import numpy as np
import pytest

from arbkit.core.columns import EventColumns
from arbkit.core.schema import markets_of
from arbkit.convert import convert
from arbkit.engine import codes as c
from arbkit.engine.config import instrument_matrix
from arbkit.engine.replayer import Replayer
from arbkit.live.paper import market_cards
from arbkit.run.replay import replay, replay_batch
from arbkit.strategies.pm_mm import market_params, pm_mm
from helpers.paths import shared

PM = "polymarket_l2_2025-12-11"
SOL, BTC1H = "sol-updown-15m-1765450800", "btc-updown-1h-1765450800"
QUOTING = {"half_spread": 0.01, "order_size": 5.0, "max_net_exposure": 25.0, "skew": 0.002}


@pytest.fixture(scope="module")
def every_sample(tmp_path_factory):
    """Every Polymarket sample file, converted into one recording (five markets; SOL 15m and BTC 1h have books),
    with the SOL market resolved Up by ``convert --resolution`` and BTC 1h left unresolved."""
    files = sorted(shared(PM).glob("*.json.gz"))
    out = tmp_path_factory.mktemp("pm") / "all"
    return convert("polymarket", files, out, resolution={SOL: "Up"})


def _run(rec, **over):
    return replay(rec, pm_mm(1000.0), market_params(rec.instruments, **{**QUOTING, **over}))


def test_every_sample_converts_with_market_outcome_and_complement(every_sample):
    insts = every_sample.instruments
    groups = markets_of(insts)
    assert sorted(groups) == sorted([SOL, BTC1H, "btc-updown-15m-1765450800", "eth-updown-15m-1765450800",
                                     "xrp-updown-15m-1765450800"])
    for market, (yes, no) in groups.items():
        up, down = insts[yes], insts[no]
        assert (up.outcome, down.outcome) == ("Up", "Down") and up.complement == down.symbol and down.complement == up.symbol
        start = int(market.rsplit("-", 1)[1])
        assert up.resolution_ts == down.resolution_ts == (start + (3600 if "-1h-" in market else 900)) * 10**9
        assert up.winner == down.winner == ("Up" if market == SOL else None)


def test_maker_quotes_both_tokens_never_goes_short_and_reports_settled_beside_marked(every_sample, tmp_path):
    res = _run(every_sample)
    insts = res.instruments
    submits = res.orders[res.orders["event"] == c.EV_SUBMIT]
    groups = markets_of(insts)
    for market in (SOL, BTC1H):  # the markets with books: both tokens get quotes and fills
        for a in groups[market]:
            assert np.sum(submits["asset"] == a) > 0 and np.sum(res.fills["asset"] == a) > 0, insts[a].key
    for market in set(groups) - {SOL, BTC1H}:  # trades only, no book: nothing to quote against
        assert not np.isin(submits["asset"], groups[market]).any()
    # never a negative token balance: after every row of the fill log, in every equity sample, at the end
    for a in range(len(insts)):
        f = res.fills[res.fills["asset"] == a]
        assert np.all(np.cumsum(np.where(f["side"] > 0, 1.0, -1.0) * f["qty"]) >= -1e-9), insts[a].key
    assert res.equity_positions.min() >= 0.0 and res.accounts[:, c.A_POS].min() >= 0.0
    assert res.counters["settlements"] >= 1  # SOL paid out at its resolution (after the data ends)
    markets = res.evaluate().kpis["markets"]
    sol, btc = markets[SOL], markets[BTC1H]
    assert sol["resolution"] == "settled" and sol["winner"] == "Up" and np.isfinite(sol["pnl_settled"])
    assert btc["resolution"] == "marked_to_mid" and np.isnan(btc["pnl_settled"])
    # settled minus marked is the open position at the end times (payoff - last mid)
    yes, no = groups[SOL]
    pre = {a: float(np.sum(np.where(f["side"] > 0, 1.0, -1.0) * f["qty"]))
           for a in (yes, no) for f in [res.fills[(res.fills["asset"] == a) & (res.fills["kind"] == c.FK_TRADE)]]}
    mids = {a: float(res.accounts[a, c.A_MID]) for a in (yes, no)}
    assert sol["pnl_settled"] - sol["pnl_marked"] == pytest.approx(pre[yes] * (1 - mids[yes]) + pre[no] * (0 - mids[no]))
    assert sol["net_exposure"] == pytest.approx(pre[yes] - pre[no])
    assert abs(sol["net_exposure_max_abs"]) <= QUOTING["max_net_exposure"] + QUOTING["order_size"]
    assert sol["time_within_limit_pct"] == 100.0
    report = res.report(tmp_path / "report.md").read_text()
    assert "pnl_settled" in report and "pnl_marked" in report and f"Not resolved (marked to mid): " in report
    assert "settled" in report and BTC1H in report.split("Not resolved")[1]


def _three_markets(rec):
    """SOL 15m, BTC 1h and a renamed copy of SOL 15m (a third market with books) in one stream."""
    groups = markets_of(rec.instruments)
    cols = rec.to_numpy()
    keep = np.isin(cols.asset, groups[SOL] + groups[BTC1H])
    base = cols.take(keep)
    old = groups[SOL] + groups[BTC1H]
    remap = np.full(len(rec.instruments), -1, np.int32)
    remap[old] = np.arange(4, dtype=np.int32)
    insts = [rec.instruments[a] for a in old]
    copy = [dataclasses.replace(i, symbol=i.symbol + "-B", complement=i.complement + "-B", market_id=SOL + "-b")
            for i in insts[:2]]
    sol = cols.take(np.isin(cols.asset, groups[SOL]))
    merged = EventColumns.concat([base.replace(asset=remap[base.asset]), sol.replace(asset=remap[sol.asset] + 4)])
    order = np.argsort(merged.ts_local, kind="stable")
    return merged.take(order), insts + copy


def _alone(events, insts, assets):
    """The events and instruments of one market alone (its assets renumbered 0, 1)."""
    keep = np.isin(events.asset, assets)
    sub = events.take(keep)
    remap = np.full(len(insts), -1, np.int32)
    remap[assets] = np.arange(len(assets), dtype=np.int32)
    return sub.replace(asset=remap[sub.asset]), [insts[a] for a in assets]


def test_three_markets_in_one_run_equal_three_single_runs_unless_the_budget_binds(every_sample):
    events, insts = _three_markets(every_sample)
    strat = pm_mm(1000.0)
    together = replay(events, strat, market_params(insts, **QUOTING), instruments=insts)
    hashes = together.fills_hash_by_instrument()
    groups = markets_of(insts)
    assert len(groups) == 3
    for market, assets in groups.items():
        ev, sub = _alone(events, insts, assets)
        alone = replay(ev, strat, market_params(sub, **QUOTING), instruments=sub)
        assert len(alone.fills) > 0
        for a, inst in zip(assets, sub):
            assert hashes[inst.key] == alone.fills_hash_by_instrument()[inst.key], inst.key
    # a shared budget that binds (15 USDC for three markets quoting 2 x 5 tokens each): buys that would take the
    # committed capital (tokens at mid + live bids) over it are not sent, so every market trades less than alone
    tight = replay(events, strat, market_params(insts, **QUOTING, budget=15.0), instruments=insts)
    th = tight.fills_hash_by_instrument()
    trades = lambda r, assets: int(np.sum(np.isin(r.fills["asset"], assets) & (r.fills["kind"] == c.FK_TRADE)))
    for market, assets in groups.items():
        assert 0 < trades(tight, assets) < trades(together, assets), market
        assert all(th[insts[a].key] != hashes[insts[a].key] for a in assets)


def test_batched_and_paper_style_runs_equal_single_replays(every_sample):
    rec = every_sample
    strat = pm_mm(1000.0)
    sets = [market_params(rec.instruments, **QUOTING), market_params(rec.instruments, **{**QUOTING, "auto_merge": 1}),
            market_params(rec.instruments, **{**QUOTING, "half_spread": 0.02, "budget": 10.0})]
    batched = replay_batch(rec, strat, sets)
    singles = [replay(rec, strat, p) for p in sets]
    for got, want in zip(batched, singles):
        assert got.fills_hash == want.fills_hash and got.counters == want.counters
        np.testing.assert_array_equal(got.accounts, want.accounts)
    assert any(s.counters["settlements"] for s in singles)
    # paper trading's path: batches of rows with the wall clock advanced between them, run on past the data
    cols = rec.to_numpy()
    clock_end = int(cols.ts_local[-1]) + 30 * 10**9
    want = replay(rec, strat, sets[1], clock_end=clock_end)
    rp = Replayer(rec.instruments, strat, sets[1])
    edges = np.linspace(0, len(cols), 9).astype(int)
    for lo, hi in zip(edges[:-1], edges[1:]):
        rp.feed(cols.take(slice(lo, hi)))
        if hi < len(cols):
            rp.advance_to(int(cols.ts_local[hi]))
        if hi == edges[4]:  # the live state's market cards mid-run: net exposure YES − NO, one card per market
            acct = rp.state.acct
            cards = market_cards(rp.instruments, acct, instrument_matrix(rp.instruments),
                                 [{"quotes": []} for _ in rp.instruments])
            groups = markets_of(rp.instruments)
            assert [k["market"] for k in cards] == list(groups)
            for card, (yes, no) in zip(cards, groups.values()):
                assert card["net_exposure"] == acct[yes, c.A_POS] - acct[no, c.A_POS]
                assert card["resolution"] == "open"
            assert any(k["net_exposure"] != 0.0 for k in cards)
    got = rp.finish(clock_end=clock_end)
    assert got.fills_hash == want.fills_hash and got.counters == want.counters


REWARDS = {"rate": 50.0, "max_spread": 0.03, "min_size": 5.0}  # 50 cash per unit of score per day, Polymarket's c = 3


def test_liquidity_rewards_on_real_books(every_sample, tmp_path):
    """pm_mm's resting quotes earn rewards on the markets with books; the KPI is the sum of the reward rows; trading
    is as without rewards (pm_mm does not look at cash); none after the SOL market resolved; batched equals single."""
    rec = every_sample
    params = market_params(rec.instruments, **QUOTING)
    off = replay(rec, pm_mm(1000.0), params)
    on = replay(rec, pm_mm(1000.0), params, rewards=REWARDS)
    rows = on.fills[on.fills["kind"] == c.FK_REWARD]
    assert len(rows) > 0 and on.counters["reward_rows"] == len(rows)
    assert np.all(rows["price"] > 0) and np.all(rows["qty"] == 0) and np.all(rows["side"] == 0)
    markets = on.evaluate().kpis["markets"]
    off_markets = off.evaluate().kpis["markets"]
    groups = markets_of(rec.instruments)
    for market, assets in groups.items():
        got = markets[market]["rewards"]
        assert got == pytest.approx(float(rows["price"][np.isin(rows["asset"], assets)].sum()), rel=1e-12)
        assert got == pytest.approx(float(on.accounts[assets, c.A_REWARD].sum()), rel=1e-12)
        assert (got > 0) == (market in (SOL, BTC1H)), market  # only the markets with books have quotes resting
        assert markets[market]["pnl_marked_ex_rewards"] == pytest.approx(off_markets[market]["pnl_marked"])
    assert markets["total"]["rewards"] == pytest.approx(float(rows["price"].sum()), rel=1e-12)
    sol = rec.instruments[groups[SOL][0]]
    assert not np.any(np.isin(rows["asset"], groups[SOL]) & (rows["ts"] >= sol.resolution_ts))
    assert on.fills[on.fills["kind"] != c.FK_REWARD].tobytes() == off.fills.tobytes()
    assert on.pnl == pytest.approx(off.pnl + float(rows["price"].sum()))
    report = on.report(tmp_path / "report.md").read_text()
    assert "pnl_marked_ex_rewards" in report and "pnl_marked_ex_rewards" not in off.report(tmp_path / "off.md").read_text()
    batched = replay_batch(rec, pm_mm(1000.0), [params, market_params(rec.instruments, **{**QUOTING, "half_spread": 0.02})],
                           rewards=REWARDS)
    assert batched[0].fills_hash == on.fills_hash and batched[0].counters == on.counters
    np.testing.assert_array_equal(batched[0].accounts, on.accounts)
    single = replay(rec, pm_mm(1000.0), market_params(rec.instruments, **{**QUOTING, "half_spread": 0.02}),
                    rewards=REWARDS)
    assert batched[1].fills_hash == single.fills_hash


def test_sweep_with_rewards_ranks_the_replays_and_its_candidate_carries_them(every_sample, tmp_path):
    from arbkit.run.config import RunConfig
    from arbkit.sweep.apply import candidate_run_config
    from arbkit.sweep.runner import sweep
    rec = every_sample
    base = market_params(rec.instruments, **QUOTING)
    res = sweep(rec.path, "pm_mm", {"half_spread": [0.01, 0.02]}, base_params=base, rewards=REWARDS,
                out_dir=tmp_path / "sw", progress=False, summary=False)
    rows = {float(r["half_spread"]): r["fills_hash"] for r in res.frame.iter_rows(named=True)}
    for hs_ in (0.01, 0.02):
        single = replay(rec, pm_mm(1000.0), {**base, "half_spread": hs_}, rewards=REWARDS)
        assert rows[hs_] == single.fills_hash and np.any(single.fills["kind"] == c.FK_REWARD)
    cfg = candidate_run_config(tmp_path / "sw", rank=1)
    assert cfg["rewards"] == REWARDS
    again = RunConfig.from_dict(cfg).replay(rec.path)
    assert again.fills_hash in rows.values()
