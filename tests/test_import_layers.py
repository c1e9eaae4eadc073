"""The package is stacked in the order data flows: no import loops, no arrow pointing up.

Every ``import`` and ``from ... import`` in a module counts, wherever it stands:
at the top, inside a function (a lazy import is still a dependency) or under
``TYPE_CHECKING``. ``from pkg import name`` is an arrow to ``pkg.name`` when
that is a module, else to ``pkg``. The layers, bottom to top:

0. the shared base: ``mlcourse/__init__``, ``errors``, ``paths``, ``figures``, ``metrics``;
1. ``mlcourse/data/``, 2. ``mlcourse/train/``, 3. ``mlcourse/deploy/``, 4. ``mlcourse/monitor/``;
5. ``mlcourse/exercises/``, 6. ``mlcourse/grading/``;
7. the command line and the tools on it (``mlcourse/dashboard/`` among them): ``cli``, ``lifecycle``, ``release``, ``workspace``,
   ``launch``, ``pytest_plugin``, ``__main__``.

An arrow from a layer to a higher one is upward; so is a module importing its
own package's ``__init__`` (a child reaching up into its parent; the root
package ``mlcourse`` is exempt, being base). Within a layer any arrow is fine
as long as it makes no loop. A new top-level module or subpackage must be
given its layer here before the tests pass.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BASE = {"errors", "paths", "figures", "metrics"}
PACKAGES = {"data": 1, "train": 2, "deploy": 3, "monitor": 4, "exercises": 5, "grading": 6, "dashboard": 7}
TOP = {"cli", "lifecycle", "release", "workspace", "launch", "pytest_plugin", "__main__"}

def modules(root: Path = ROOT) -> dict[str, Path]:
    found = {}
    for path in sorted((root / "mlcourse").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1 or (len(parts) == 2 and parts[1] in BASE):
        return 0
    if parts[1] in PACKAGES:
        return PACKAGES[parts[1]]
    if len(parts) == 2 and parts[1] in TOP:
        return 7
    raise LookupError(f"{module} has no layer: add it to BASE, PACKAGES or TOP in {Path(__file__).name}")


def arrows(mods: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package[: len(package) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for target in targets:
                # `import mlcourse.x.y` is an arrow to the longest known module.
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target != mod:
                    graph[mod].add(target)
    return graph


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        out.append(sorted(component))
    return out


def upward(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    found = set()
    for src, dsts in graph.items():
        for dst in dsts:
            child_to_parent = src.startswith(dst + ".") and dst != "mlcourse"
            if layer(src) < layer(dst) or child_to_parent:
                found.add((src, dst))
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return arrows(modules())


def test_every_module_has_a_layer(graph) -> None:
    assert {m: layer(m) for m in graph}


def test_no_arrow_points_up(graph) -> None:
    assert upward(graph) == set()


def test_no_import_loops(graph) -> None:
    assert loops(graph) == []


# The checker checked: each rule fails on a tree built to break it.
def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    """A package ``mlcourse`` with these files, and an empty ``__init__.py`` in every folder."""
    for name, text in files.items():
        path = tmp_path / "mlcourse" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in [tmp_path / "mlcourse", *(tmp_path / "mlcourse").rglob("*/")]:
        if folder.is_dir() and not (folder / "__init__.py").exists():
            (folder / "__init__.py").write_text("", encoding="utf-8")
    return arrows(modules(tmp_path))


def test_a_lazy_import_from_a_lower_stage_upwards_is_caught(tmp_path: Path) -> None:
    graph = _tree(tmp_path, {
        "data/generate.py": "def f():\n    from mlcourse.monitor.drift import psi\n    return psi\n",
        "monitor/drift.py": "from ..data import generate\n",
    })
    assert graph["mlcourse.data.generate"] == {"mlcourse.monitor.drift"}
    assert graph["mlcourse.monitor.drift"] == {"mlcourse.data.generate"}
    assert upward(graph) == {("mlcourse.data.generate", "mlcourse.monitor.drift")}
    assert loops(graph) == [["mlcourse.data.generate", "mlcourse.monitor.drift"]]


def test_a_child_importing_its_package_and_type_checking_imports_are_caught(tmp_path: Path) -> None:
    graph = _tree(tmp_path, {
        "metrics.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import mlcourse.train.fraud_model\n",
        "train/fraud_model.py": "from mlcourse.train import something\nimport mlcourse\n",
    })
    assert upward(graph) == {("mlcourse.metrics", "mlcourse.train.fraud_model"),
                             ("mlcourse.train.fraud_model", "mlcourse.train")}


def test_a_module_without_a_layer_is_named(tmp_path: Path) -> None:
    graph = _tree(tmp_path, {"helpers.py": ""})
    with pytest.raises(LookupError, match="mlcourse.helpers has no layer"):
        upward({**graph, "mlcourse": {"mlcourse.helpers"}})
