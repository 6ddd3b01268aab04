"""The import graph follows the layers (docs/architecture.md): no upward import, no cycle between files or
packages, in-house imports at module top, and jitted functions named ``*_nb``.

Every module under ``arbkit/`` and ``hydra_plugins/`` is parsed with :mod:`ast` (imports
inside functions included); nothing is imported.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: bottom to top; a module imports only from its own layer or below
LAYERS = ["core", "book", "engine", ("io", "venues"), "convert", "strategies", "kpi", "report", "run", "sweep", "live",
          "campaign", "apps"]
LAYER_OF = {name: i for i, layer in enumerate(LAYERS) for name in (layer if isinstance(layer, tuple) else (layer,))}
LAYER_OF["conf"] = LAYER_OF["core"]  # packaged defaults and the one function that finds them
TOP = len(LAYERS)  # arbkit/__init__.py: the public face, above everything; nothing in the package imports it
PLUGINS = LAYER_OF["sweep"]  # hydra_plugins: the sweep's launcher and sweeper

#: (module, function) -> why an in-house import sits inside that function
LAZY_IMPORTS = {
    ("arbkit", "__getattr__"): "engine names load on first use: importing them compiles or loads the numba engine, "
                               "which `import arbkit` for reading recordings should not pay",
}
#: functions of apps/cli.py: each sub-command imports its layer when it runs, so `arbkit record` or `arbkit info`
#: start without loading the numba engine, hydra or matplotlib (the recorder must be up within a second)
LAZY_CLI = "arbkit.apps.cli"

#: jitted functions that keep their names: the strategy-side API (called only inside kernels)
JIT_NAME_EXEMPT_MODULES = {"arbkit.engine.api"}
JIT_DECORATORS = {"njit", "jit", "strategy_kernel"}


@dataclass(frozen=True)
class Import:
    module: str  # importing module
    target: str  # imported module (a submodule when the name imported is one)
    line: int
    function: str | None  # enclosing function, None at module level


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    files = sorted((ROOT / "arbkit").rglob("*.py")) + sorted((ROOT / "hydra_plugins").rglob("*.py"))
    return {module_name(p): p for p in files}


def resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, known: set[str]) -> list[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out: list[Import] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            fn = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] in ("arbkit", "hydra_plugins"):
                        out.append(Import(module, alias.name, child.lineno, function))
            elif isinstance(child, ast.ImportFrom):
                base = resolve(child, module, path.name == "__init__.py")
                if base.split(".")[0] not in ("arbkit", "hydra_plugins"):
                    continue
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    out.append(Import(module, sub if sub in known else base, child.lineno, function))
            visit(child, fn)

    visit(tree, None)
    return out


def layer(module: str) -> int:
    parts = module.split(".")
    if parts[0] == "hydra_plugins":
        return PLUGINS
    if len(parts) == 1:
        return TOP
    return LAYER_OF[parts[1]]


def package(module: str) -> str:
    return ".".join(module.split(".")[:2])


SOURCES = sources()
IMPORTS = [imp for mod, path in SOURCES.items() for imp in imports_of(mod, path, set(SOURCES))]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return found


def test_every_module_is_mapped_to_a_layer():
    for mod in SOURCES:
        layer(mod)  # a KeyError names a package missing from LAYERS


def test_no_module_imports_a_higher_layer():
    upward = [f"{i.module}:{i.line} imports {i.target} (layer {layer(i.target)} above {layer(i.module)})"
              for i in IMPORTS if i.target in SOURCES and layer(i.target) > layer(i.module)]
    assert not upward, "\n".join(upward)


def test_no_cycle_between_files():
    edges: dict[str, set[str]] = {}
    for i in IMPORTS:
        if i.target in SOURCES and i.target != i.module:
            edges.setdefault(i.module, set()).add(i.target)
    assert not cycles(edges)


def test_no_cycle_between_packages():
    edges: dict[str, set[str]] = {}
    for i in IMPORTS:
        a, b = package(i.module), package(i.target)
        if i.target in SOURCES and a != b:
            edges.setdefault(a, set()).add(b)
    assert not cycles(edges)


def test_in_house_imports_sit_at_module_top():
    inside = [f"{i.module}:{i.line} in {i.function}() imports {i.target}" for i in IMPORTS
              if i.function is not None and (i.module, i.function) not in LAZY_IMPORTS
              and not (i.module == LAZY_CLI and i.function.startswith(("cmd_", "_venue_specs")))]
    assert not inside, "\n".join(inside)


def _jitted(fn: ast.FunctionDef) -> bool:
    for dec in fn.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in JIT_DECORATORS:
            return True
    return False


def _kernel(fn: ast.FunctionDef) -> bool:
    return any((d.func if isinstance(d, ast.Call) else d).__dict__.get("id") == "strategy_kernel"
               for d in fn.decorator_list)


def _functions():
    for mod, path in SOURCES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                yield mod, node


def test_jitted_functions_end_in_nb():
    wrong = [f"{mod}.{fn.name}" for mod, fn in _functions()
             if _jitted(fn) and not _kernel(fn) and mod not in JIT_NAME_EXEMPT_MODULES and not fn.name.endswith("_nb")]
    assert not wrong, "jitted functions named without _nb: " + ", ".join(wrong)


def test_nb_names_are_jitted():
    wrong = [f"{mod}.{fn.name}" for mod, fn in _functions() if fn.name.endswith("_nb") and not _jitted(fn)]
    assert not wrong, "functions named *_nb that are not jitted: " + ", ".join(wrong)


@pytest.mark.parametrize("module, function", sorted(LAZY_IMPORTS))
def test_named_lazy_imports_exist(module, function):
    assert any(i.module == module and i.function == function for i in IMPORTS)
