"""No import circles anywhere in plasticore, counting imports inside functions (``ast``, no import runs).

Every ``import`` / ``from ... import`` statement of every module of the package (at module level, inside
functions, under ``TYPE_CHECKING``) is an edge to the plasticore module it names; ``from pkg import name``
is an edge to ``pkg.name`` when that is a module, else to ``pkg``. Parent packages that Python initialises
before a submodule are not edges (every submodule would otherwise form a circle with its package's
``__init__``). Layering on top: ``plasticore.hw`` never imports ``plasticore.estimate`` (the emitters reach
the predictor through the registry :mod:`plasticore.hw.estimator`, which the top-level package fills), and
the reference model imports neither the hardware, the predictor nor the flows.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def package_dirs() -> dict[str, Path]:
    """Package name -> folder, from pyproject's ``[tool.setuptools.package-dir]``."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {name: (ROOT / d).resolve() for name, d in cfg["package-dir"].items()}


def modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    dirs = package_dirs()
    out: dict[str, Path] = {}
    for pkg, d in dirs.items():
        for f in sorted(d.glob("*.py")):
            out[pkg if f.name == "__init__.py" else f"{pkg}.{f.stem}"] = f
    return out


def _resolve(module: str, is_pkg: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def import_graph() -> dict[str, set[str]]:
    """module -> the plasticore modules it imports anywhere in its body."""
    mods = modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                src = _resolve(mod, is_pkg, node.level, node.module)
                names = [f"{src}.{a.name}" if f"{src}.{a.name}" in mods else src for a in node.names]
            else:
                continue
            for name in names:
                while name and name not in mods:  # ``import plasticore.hw.emitter as x`` -> that module
                    name = name.rpartition(".")[0]
                if name and name != mod:
                    graph[mod].add(name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return [*stack[stack.index(n):], n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_graph_sees_function_level_imports() -> None:
    """The walk counts an import inside a function (the emitters' old route into the predictor was one)."""
    g = import_graph()
    assert "plasticore.hw.emitter" in g["plasticore.hw"]  # hw/__init__ imports it inside __getattr__
    assert "plasticore.hw.o1_lane" in g["plasticore.estimate.counts"]  # inside rtl_counts' helpers
    assert len(g) > 60


def test_no_import_circles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_layers() -> None:
    g = import_graph()
    for mod, deps in g.items():
        if mod.startswith("plasticore.hw"):
            bad = sorted(d for d in deps if d.startswith("plasticore.estimate"))
            assert not bad, f"{mod} imports the predictor {bad}: use plasticore.hw.estimator"
        if mod.startswith("plasticore.refmodel"):
            bad = sorted(d for d in deps if d.startswith(("plasticore.hw", "plasticore.estimate", "plasticore.flows")))
            assert not bad, f"{mod} (reference model) imports {bad}"
        if mod.startswith("plasticore.estimate"):
            bad = sorted(d for d in deps if d.startswith("plasticore.flows"))
            assert not bad, f"{mod} (predictor) imports the flows {bad}"
