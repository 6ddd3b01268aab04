"""arbkit/conf/ holds the same defaults as the Python API (one definition checked both ways)."""
import yaml

from arbkit.strategies import get_strategy
from arbkit.conf import conf_path

CONF = conf_path()


def test_strategy_conf_matches_python_defaults():
    for path in sorted((CONF / "strategy").glob("*.yaml")):
        conf = yaml.safe_load(path.read_text())
        strat = get_strategy(conf["name"], **conf.get("options", {}))
        params = {k: v for k, v in conf.items() if k not in ("name", "options")}
        assert dict(strat.params) == params, path.name


def test_gates_and_cost_profiles_load():
    from arbkit.kpi.edge import PROFILES, CostProfile
    from arbkit.kpi.gates import Gate

    for path in sorted((CONF / "gates").glob("*.yaml")):
        assert Gate.load(path).thresholds
    assert [CostProfile.load(p).name for p in PROFILES] == list(PROFILES)


def test_guard_conf_matches_python_defaults():
    from arbkit.engine.config import RiskGuards

    conf = yaml.safe_load((CONF / "guards" / "default.yaml").read_text())
    assert RiskGuards.from_dict(conf) == RiskGuards()


def test_fill_and_latency_conf_defaults_match_python():
    from arbkit.engine.config import FillModel, LatencyModel

    fill = yaml.safe_load((CONF / "fill" / "default.yaml").read_text())
    assert FillModel.from_dict(fill) == FillModel()
    lat = yaml.safe_load((CONF / "latency" / "default.yaml").read_text())
    assert LatencyModel.from_dict(lat).to_dict() == LatencyModel().to_dict()
    for path in sorted((CONF / "fill").glob("*.yaml")):
        FillModel.from_dict(yaml.safe_load(path.read_text()))  # every profile is valid
    for path in sorted((CONF / "latency").glob("*.yaml")):
        LatencyModel.from_dict(yaml.safe_load(path.read_text()))
