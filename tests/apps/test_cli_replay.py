"""``arbkit replay``: JSON summary, trace window, seeds, and clear errors for bad configs."""
import json

from arbkit.apps.cli import main, parse_time_ns
from helpers.paths import BUNDLED, ROOT

CONFIG = ROOT / "examples" / "run_touch_mm.yaml"


def _json(capsys, *argv):
    assert main(["replay", str(BUNDLED), *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_replay_json_has_the_run_and_is_reproducible(capsys):
    a = _json(capsys, "--config", str(CONFIG))
    for key in ("events", "fills", "fills_hash", "pnl", "counters", "positions"):
        assert key in a
    assert a["events"] == 1_128_971 and a["fills"] > 0
    assert _json(capsys, "--config", str(CONFIG))["fills_hash"] == a["fills_hash"]
    other = _json(capsys, "--config", str(CONFIG), "--seed", "8")
    assert other["seed"] == 8 and other["fills_hash"] != a["fills_hash"]  # empirical latency draws differ


def test_trace_window_lists_events_orders_and_fills(capsys):
    full = _json(capsys, "--config", str(CONFIG))
    import arbkit
    from arbkit.run.config import RunConfig

    res = RunConfig.load(CONFIG).replay(arbkit.load(BUNDLED))
    t_fill = int(res.fills["ts"][0])
    lo, hi = t_fill - 5_000_000, t_fill + 5_000_000
    traced = _json(capsys, "--config", str(CONFIG), "--trace-from", str(lo), "--trace-to", str(hi))
    assert traced["fills_hash"] == full["fills_hash"]  # tracing does not change the run
    rows = traced["trace"]
    assert rows and all(lo <= r["ts_local"] <= hi for r in rows)
    assert any(r["fills"] for r in rows)
    assert any(r["open_orders"] for r in rows)
    assert {"best_bid", "best_ask", "kind", "price", "qty"} <= set(rows[0])
    # the human form prints the same trace
    assert main(["replay", str(BUNDLED), "--config", str(CONFIG), "--trace-from", str(lo), "--trace-to", str(hi)]) == 0
    out = capsys.readouterr().out
    assert "FILL" in out and "fills_hash" in out


def test_iso_times_and_bad_configs(tmp_path, capsys):
    assert parse_time_ns("2024-08-09T00:00:00Z") == 1723161600 * 10**9
    assert parse_time_ns("1723161600000000000") == 1723161600 * 10**9
    bad = tmp_path / "bad.yaml"
    for text, needle in (("strategy: touch_mm\nfill: {queue: fifo}\n", "fill.queue"),
                         ("strategy: nope\n", "strategy 'nope'"),
                         ("strategy: touch_mm\nparams: {spread: 1}\n", "unknown parameter"),
                         ("strategy: touch_mm\nlatency: {entry: -5}\n", "latency.entry"),
                         ("strategy: touch_mm\nsed: 1\n", "unknown key"),
                         ("strategy: [\n", "cannot read run config")):
        bad.write_text(text)
        assert main(["replay", str(BUNDLED), "--config", str(bad)]) == 2
        assert needle in capsys.readouterr().err


def test_strategy_set_and_gate_from_the_command_line(capsys):
    argv = ["replay", str(BUNDLED), "--strategy", "arb", "--set", "asset_a=0", "--set", "asset_b=1",
            "--set", "entry_bps=-4.5", "--set", "tp_bps=1", "--set", "stop_loss_bps=3", "--set", "time_limit_s=30",
            "--set", "net_of_fees=0", "--set", "latency.entry=1000000", "--set", "allow_short=true", "--json"]
    code = main(argv + ["--gate", "default"])
    out = json.loads(capsys.readouterr().out)
    tot = out["kpis"]["total"]
    assert tot["round_trips"] > 20 and set(tot["exit_reasons"]) >= {"tp", "stop_loss"}
    assert out["gate"]["verdict"] in ("PASS", "FAIL") and code == (0 if out["gate"]["passed"] else 1)
    assert out["params"]["entry_bps"] == -4.5
    assert list(out["checkpoints"]) == ["5m"] and out["checkpoints"]["5m"]["fills"] <= tot["fills"]
    edge = out["edge"]
    assert set(edge["profiles"]) == {"optimistic", "realistic", "conservative"}
    assert isinstance(edge["is_structurally_safe"], bool) and isinstance(edge["is_recommended"], bool)
    assert main(["replay", str(BUNDLED), "--strategy", "arb", "--set", "entry_bpz=3"]) == 2
    assert "unknown parameter" in capsys.readouterr().err
    assert main(["replay", str(BUNDLED)]) == 2
    assert "--config run.yaml or --strategy" in capsys.readouterr().err
