"""No code outside a strategy's own module tells strategies apart by name: what differs comes from the hooks a
Strategy carries (round trips, edge model, objective, rank keys), so adding one means editing its own file.

Every module under ``arbkit/`` and ``hydra_plugins/`` is parsed with :mod:`ast`; a comparison with a
registry name (``strategy == "arb"``, ``name in ("arb", "mm")``, ``match``) or a dict keyed by one
fails, except in the strategy's own module and in the registry itself.
"""
from __future__ import annotations

import ast
from pathlib import Path

from arbkit.strategies import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
NAMES = set(REGISTRY)
#: the registry maps the names to their factories; each strategy's module may name itself
ALLOWED = {ROOT / "arbkit" / "strategies" / "__init__.py"} | {
    ROOT / "arbkit" / "strategies" / f"{target.split(':')[0].rsplit('.', 1)[-1]}.py" for target in REGISTRY.values()}


def _names_in(node: ast.AST) -> set[str]:
    """Registry names among the string constants of ``node`` (a constant, or a tuple / list / set of them)."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)} & NAMES


def name_tests(path: Path, root: Path = ROOT) -> list[str]:
    """``path:line: code`` for each comparison with, match on, or dict keyed by a strategy's registry name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        hits: set[str] = set()
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                hits |= _names_in(operand)
        elif isinstance(node, ast.Dict):
            for key in node.keys:
                if key is not None:
                    hits |= _names_in(key)
        elif isinstance(node, ast.MatchValue):
            hits |= _names_in(node.value)
        if hits:
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_no_strategy_name_tests_outside_the_strategies_own_modules():
    files = sorted((ROOT / "arbkit").rglob("*.py")) + sorted((ROOT / "hydra_plugins").rglob("*.py"))
    found = [hit for p in files if p not in ALLOWED for hit in name_tests(p)]
    assert not found, "strategy chosen by name outside its module (give the Strategy a hook):\n" + "\n".join(found)


def test_the_check_sees_each_form(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('if strategy == "arb":\n    pass\nok = name in ("mm", "x")\nKEYS = {"arb": 1}\n'
                     'match s:\n    case "touch_mm":\n        pass\nfine = get_strategy("arb")\n')
    assert [h.split(":")[1] for h in name_tests(probe, tmp_path)] == ["1", "3", "4", "6"]
