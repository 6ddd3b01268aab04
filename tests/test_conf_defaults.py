"""conf/ holds the same defaults as the Python API (one definition checked both ways)."""
import yaml

from arbkit.strategies import get_strategy
from conftest import ROOT


def test_strategy_conf_matches_python_defaults():
    for path in sorted((ROOT / "conf" / "strategy").glob("*.yaml")):
        conf = yaml.safe_load(path.read_text())
        strat = get_strategy(conf["name"], **conf.get("options", {}))
        assert dict(strat.params) == conf["params"], path.name


def test_gates_and_cost_profiles_load():
    from arbkit.kpi.edge import PROFILES, CostProfile
    from arbkit.kpi.gates import Gate

    for path in sorted((ROOT / "conf" / "gates").glob("*.yaml")):
        assert Gate.load(path).thresholds
    assert [CostProfile.load(p).name for p in PROFILES] == list(PROFILES)


def test_guard_conf_matches_python_defaults():
    from arbkit.engine.config import RiskGuards

    conf = yaml.safe_load((ROOT / "conf" / "guards" / "default.yaml").read_text())
    assert RiskGuards.from_dict(conf) == RiskGuards()
