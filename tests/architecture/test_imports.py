"""The package layering holds: no import circle between modules, no package reaching upward."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FLOORS = {
    "braking_common": 0,
    "braking_data": 1,
    "braking_model": 2,
    "braking_registry": 2,
    "braking_serving": 2,
    "braking_release": 3,
    "braking_stack": 3,
    "braking_monitoring": 3,
    "braking_pipelines": 4,
    "braking_feedback": 5,
    "braking_cli": 6,
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in FLOORS:
        for init in REPO_ROOT.glob(f"*/{package}/__init__.py"):
            for path in init.parent.glob("*.py"):
                name = package if path.stem == "__init__" else f"{package}.{path.stem}"
                found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Project modules `path` imports anywhere (top level or inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name in MODULES}


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def test_every_package_is_found():
    assert {name.split(".")[0] for name in MODULES} == set(FLOORS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_higher_floor(module):
    floor = FLOORS[module.split(".")[0]]
    upward = sorted(i for i in GRAPH[module] if FLOORS[i.split(".")[0]] > floor)
    assert not upward, f"{module} (floor {floor}) imports {upward}"


def test_no_import_circle():
    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        seen = set()
        while stack:
            node, path = stack.pop()
            for target in GRAPH[node]:
                if target == start:
                    return [*path, start]
                if target not in seen and not target.startswith(start + "."):
                    seen.add(target)
                    stack.append((target, [*path, target]))
        return None

    circles = [c for m in sorted(GRAPH) if (c := cycle_from(m)) and m not in FLOORS]
    assert not circles, " ; ".join(" -> ".join(c) for c in circles)
