# SPDX-License-Identifier: MIT
"""The sensor's layout keeps its shape: one trap interface, no import circles, small modules.

Each trap is a subpackage of ``sensor/traps`` with a ``build()``, a config table derived from
``TrapConfig`` and a ``TrapSpec`` whose eventids are exactly those its modules emit (and all
registered). Import circles are looked for among run-time imports (``TYPE_CHECKING`` blocks
left out, function-level imports counted): the shell and its command modules, the SSH trap and
SFTP, used to import each other.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from test_registry import _ids_in_text, _string_literals

import honeyfarm.sensor
from honeyfarm.eventids import EVENT_IDS
from honeyfarm.sensor.config import SensorConfig
from honeyfarm.sensor.trap import TrapConfig
from honeyfarm.sensor.traps import TRAPS

SENSOR = Path(honeyfarm.sensor.__file__).resolve().parent
PKG = "honeyfarm.sensor"


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in SENSOR.rglob("*.py"):
        rel = path.relative_to(SENSOR.parent.parent).with_suffix("")
        name = ".".join(rel.parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _runtime_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only |= {id(n) for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only or not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        if node.module.startswith(PKG):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative enough here)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
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
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles_in_the_sensor() -> None:
    modules = _modules()
    graph = {name: _runtime_imports(path, modules) for name, path in modules.items()}
    assert len(graph) > 80  # the scan sees the whole sensor
    assert f"{PKG}.shell.commands.base" in graph[f"{PKG}.shell.shell"]
    assert _cycles(graph) == []
    # The checker itself finds a circle when there is one.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("spec", TRAPS, ids=lambda s: s.name)
def test_each_trap_has_a_table_a_builder_and_its_eventids(spec: object) -> None:
    from honeyfarm.sensor.trap import TrapSpec

    assert isinstance(spec, TrapSpec)
    field = SensorConfig.model_fields[spec.name]
    assert isinstance(field.annotation, type) and issubclass(field.annotation, TrapConfig)
    assert inspect.iscoroutinefunction(spec.builder())
    emitted: set[str] = set()
    folder = SENSOR / "traps" / spec.name
    for path in folder.rglob("*.py"):
        emitted |= _ids_in_text(_string_literals(path.read_text(encoding="utf-8")))
    emitted = {e for e in emitted if not e.startswith(PKG)}  # module names, not eventids
    assert emitted <= set(spec.eventids), sorted(emitted - set(spec.eventids))
    assert set(spec.eventids) <= set(EVENT_IDS), sorted(set(spec.eventids) - set(EVENT_IDS))


def test_trap_names_are_unique_and_every_trap_table_has_a_spec() -> None:
    names = [s.name for s in TRAPS]
    assert len(names) == len(set(names))
    tables = {
        name
        for name, f in SensorConfig.model_fields.items()
        if isinstance(f.annotation, type) and issubclass(f.annotation, TrapConfig)
    }
    assert tables == set(names)


def test_sensor_modules_stay_small() -> None:
    big = {
        p.relative_to(SENSOR).as_posix(): n
        for p in SENSOR.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 500
    }
    assert big == {}
