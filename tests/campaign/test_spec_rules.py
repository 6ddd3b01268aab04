"""campaign.yaml mistakes are one line naming the key; the adjustment grammar; parameters never leave their bounds."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbkit.campaign.adjust import optuna_next
from arbkit.campaign.orchestrator import init_campaign
from arbkit.campaign.rules import Rule, apply_rules
from arbkit.campaign.spec import CampaignSpec
from arbkit.core.errors import ConfigError
from arbkit.run.config import RunConfig

from campaign.campaigns import small, write_spec


def _hyp(**kw):
    h = dict(small()["hypotheses"][0])
    h.update(kw)
    return h


BAD = [
    ({"name": "a b"}, "name must be"),
    ({"bogus": 1}, "unknown key 'bogus'"),
    ({"durations_s": [10, 5]}, "durations_s[1]: the ladder must grow"),
    ({"durations_s": [0]}, "durations_s[0]"),
    ({"durations_s": [10000]}, None),  # checked when the source opens (longer than the recording): see below
    ({"bounds": {"half_spread_bps": [3, 1]}}, "bounds.half_spread_bps: low 3 is above high 1"),
    ({"bounds": {"half_spread_bps": [1, 3]}}, "bounds.half_spread_bps: the base value 0.5 is outside [1, 3]"),
    ({"bounds": {"no_such": [1, 3]}}, "bounds.no_such: 'no_such' is neither a parameter of mm"),
    ({"hypotheses": [_hyp(checks=["fill_rate_pct << 3"])]}, "hypotheses[0].checks[0]"),
    ({"hypotheses": [_hyp(adjust=["half_spread_bps ** 2"])]}, "hypotheses[0].adjust[0]"),
    ({"hypotheses": [_hyp(adjust=["gamma + 1"])]}, "hypotheses[0].adjust[0]: 'gamma' has no bounds"),
    ({"hypotheses": [_hyp(max_retries=-1)]}, "hypotheses[0].max_retries"),
    ({"hypotheses": [_hyp(), _hyp()]}, "hypotheses[1].name: 'fills_few' is used twice"),
    ({"budget": {"runs": 0}}, "budget.runs"),
    ({"budget": {"hours": 3}}, "budget: unknown key 'hours'"),
    ({"adjuster": "genetic"}, "adjuster must be one of"),
    ({"source": {"kind": "offline", "recording": "nowhere"}}, "source.recording: 'nowhere' is not a recording"),
    ({"base": {"strategy": "mm", "start_ns": 5}}, "base.start_ns: set by the campaign"),
    ({"base": {"strategy": "mm", "params": {"asset": 1}, "seed": "x"}}, "base: seed must be an integer"),
]


@pytest.mark.parametrize("change,message", [b for b in BAD if b[1]])
def test_bad_campaign_yaml_is_one_line_naming_the_key(tmp_path, change, message):
    path = write_spec(tmp_path, small(**change))
    with pytest.raises(ConfigError) as err:
        CampaignSpec.load(path)
    text = str(err.value)
    assert "\n" not in text and str(path) in text and message in text, text


def test_ladder_longer_than_the_recording_is_one_line_on_the_first_step(tmp_path):
    camp = init_campaign(tmp_path / "c", write_spec(tmp_path / "spec", small(durations_s=[10000])))
    with pytest.raises(ConfigError) as err:
        camp.step()
    assert "durations_s: the longest run (10000 s) is longer than the recording" in str(err.value)
    assert camp.state()["state"] == "IDLE" and camp.dir.read_history() == []


def test_cli_init_with_a_bad_config_exits_2_with_one_line(tmp_path, capsys):
    from arbkit.apps.cli import main

    bad = write_spec(tmp_path / "bad", small(hypotheses=[_hyp(adjust=["half_spread_bps ** 2"])]))
    assert main(["campaign", "init", str(tmp_path / "d"), "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "hypotheses[0].adjust[0]" in err and err.count("\n") == 1
    assert not (tmp_path / "d").exists()


def test_run_yaml_accepts_provenance_and_checks_its_types():
    cfg = RunConfig.from_dict({"strategy": "mm", "run_id": "c-r001", "hypothesis": "h", "parent_run": None,
                               "changes_from_parent": {"params.x": {"from": 1, "to": 2, "reason": "rule"}}})
    assert (cfg.run_id, cfg.parent_run, cfg.changes_from_parent["params.x"]["to"]) == ("c-r001", None, 2)
    with pytest.raises(ConfigError, match="run_id must be a string"):
        RunConfig.from_dict({"strategy": "mm", "run_id": 3})
    with pytest.raises(ConfigError, match="changes_from_parent must be a mapping"):
        RunConfig.from_dict({"strategy": "mm", "changes_from_parent": [1]})


@pytest.mark.parametrize("text,old,new", [("half_spread_bps + 5", 1.0, 6.0), ("fill_probability * 0.5", 0.8, 0.4),
                                          ("x - 0.25", 1.0, 0.75), ("x / 4", 2.0, 0.5), ("x = 7", 1.0, 7.0),
                                          ("fill.fill_probability*2", 0.3, 0.6)])
def test_rule_grammar(text, old, new):
    rule = Rule.parse(text, "r")
    got, changes = apply_rules((rule.at("p.x"),), {"p.x": old}, {"p.x": (-100.0, 100.0)})
    assert got["p.x"] == pytest.approx(new)
    assert changes["p.x"]["reason"] == f"rule '{rule}'"


@pytest.mark.parametrize("text", ["__import__('os')", "x + y", "x ** 2", "x + 1 + 2", "x / 0", "", "1 + x", None])
def test_rule_grammar_refuses_anything_else(text):
    with pytest.raises(ConfigError, match="^where: "):
        Rule.parse(text, "where")


def test_clipped_rule_says_so():
    got, changes = apply_rules((Rule.parse("x + 5", "r").at("p.x"),), {"p.x": 2.0}, {"p.x": (0.0, 4.0)})
    assert got["p.x"] == 4.0 and "clipped to high bound 4" in changes["p.x"]["reason"]
    got, changes = apply_rules((Rule.parse("x + 5", "r").at("p.x"),), {"p.x": 4.0}, {"p.x": (0.0, 4.0)})
    assert changes == {}  # at the bound: nothing changes, so the campaign stops instead of repeating the run


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def campaigns(draw):
    """A random campaign: bounds on three mm parameters, base values inside them, rules of every operator."""
    names = ["half_spread_bps", "inventory_skew_bps", "gamma"]
    bounds, params = {}, {"asset": 1, "mode": 1}
    for n in names:
        lo = draw(st.floats(0.001, 50, allow_nan=False))
        hi = lo + draw(st.floats(0, 50, allow_nan=False))
        bounds[n] = [lo, hi]
        params[n] = draw(st.floats(lo, hi, allow_nan=False))
    rules = draw(st.lists(st.tuples(st.sampled_from(names), st.sampled_from("+-*/="), finite.filter(lambda v: v != 0)),
                          min_size=1, max_size=5))
    hyp = {"name": "h", "checks": ["fills >= 0"], "max_retries": 50, "adjust": [f"{n} {op} {v!r}" for n, op, v in rules]}
    return small(base={**small()["base"], "params": params}, bounds=bounds, hypotheses=[hyp])


@settings(max_examples=60, deadline=None)
@given(campaigns(), st.integers(1, 12))
def test_rules_never_leave_the_bounds(spec_dict, rounds):
    spec = CampaignSpec.from_dict(spec_dict)
    values = {p: spec.base_value(p) for p in spec.bounds}
    for _ in range(rounds):
        values, changes = apply_rules(spec.hypotheses[0].adjust, values, spec.bounds)
        for p, v in values.items():
            lo, hi = spec.bounds[p]
            assert lo <= v <= hi and math.isfinite(v), (p, v, spec.bounds[p])
        for p, c in changes.items():
            assert c["to"] == values[p] and c["reason"]


def _optuna_rounds(spec_dict, storage, rounds):
    spec = CampaignSpec.from_dict({**spec_dict, "adjuster": "optuna"})
    values = {p: spec.base_value(p) for p in spec.bounds}
    history = []
    for i in range(rounds):
        history.append({"run_id": f"r{i}", "hypothesis": "h", "verdict": "FAIL", "values": values, "score": i % 3 / 3})
        values, changes = optuna_next(spec, spec.hypotheses[0], values, history, storage)
        for p, v in values.items():
            lo, hi = spec.bounds[p]
            assert lo <= v <= hi, (p, v, spec.bounds[p])
    return values


@pytest.mark.slow
def test_optuna_proposes_inside_the_bounds_and_is_seeded(tmp_path):
    spec = small(bounds={"half_spread_bps": [0.25, 3.0], "fill_probability": [1.0, 1.0]})
    first = _optuna_rounds(spec, tmp_path / "a.db", 2)
    assert first["fill.fill_probability"] == 1.0  # a bound of zero width pins the parameter
    assert _optuna_rounds(spec, tmp_path / "b.db", 2) == first  # same history, same seed: same proposal


@pytest.mark.slow
@settings(max_examples=5, deadline=None)
@given(campaigns())
def test_optuna_never_leaves_the_bounds(tmp_path_factory, spec_dict):
    _optuna_rounds(spec_dict, tmp_path_factory.mktemp("optuna") / "optuna.db", 5)


def test_malformed_yaml_is_one_line(tmp_path):
    path = tmp_path / "campaign.yaml"
    path.write_text("name: x\nhypotheses: [\n  - oops: {\n")
    with pytest.raises(ConfigError) as err:
        CampaignSpec.load(path)
    assert "\n" not in str(err.value) and str(err.value).startswith(f"{path}: cannot read campaign (")
