"""The floors of the house: no import cycles between product modules, no lower layer importing a higher one.

Every `import` and `from ... import` of every product file counts, also those inside functions and under
`if TYPE_CHECKING:`: a type-hint-only import still ties the two modules together. docs/ARCHITECTURE.md
describes the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Lowest first. A module may import modules of its own package and of lower layers only; packages that
# share a layer do not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("shape_editor",),
    ("util",),
    ("data",),
    ("models",),
    ("options", "trainers", "testers"),
    ("editor_app",),
    ("train", "test", "editor"),
    ("scripts", "benchmarks"),
)
LAYER_OF = {package: level for level, packages in enumerate(LAYERS) for package in packages}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_modules() -> dict[str, Path]:
    """Every .py file of a package or entry point in LAYERS, by dotted module name."""
    found = {}
    for path in ROOT.rglob("*.py"):
        top = path.relative_to(ROOT).parts[0].removesuffix(".py")
        if top in LAYER_OF:
            found[module_name(path)] = path
    return found


def imported_modules(path: Path, modules: dict[str, Path]) -> set[str]:
    """The product modules `path` imports; `from pkg import name` counts as `pkg.name` when that is a module."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in modules)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = product_modules()
    return {name: imported_modules(path, modules) - {name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return path[path.index(dep) :] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_graph_sees_the_tree():
    graph = import_graph()
    assert {"shape_editor.shape_vae", "data.base_dataset", "models.shapevae_model", "train"} <= graph.keys()
    assert "shape_editor.shape_vae" in graph["shape_editor"]


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_layer_imports_a_higher_one():
    upward = []
    for module, deps in import_graph().items():
        own = module.split(".")[0]
        for dep in deps:
            other = dep.split(".")[0]
            if other != own and LAYER_OF[other] >= LAYER_OF[own]:
                upward.append(f"{module} imports {dep}")
    assert not upward, "imports that go up or sideways:\n" + "\n".join(sorted(upward))


@pytest.mark.parametrize(
    "graph, cycle",
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"b"}, "b": set(), "c": {"b"}}, None),
    ],
)
def test_find_cycle(graph, cycle):
    assert find_cycle(graph) == cycle
