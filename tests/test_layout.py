"""The package's layout: one subpackage per concern, imports only downward, no import circle, short modules.

docs/architecture.md draws the layers; this test is what holds them. Every import counts, including those
inside functions (a lazy import is still a dependency) and those only for type hints.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "han"

# what each layer may import; the root modules are layers of their own
ALLOWED = {
    "base": set(),  # han.errors, han.paper: no han imports at all
    "data": {"base"},
    "nn": {"base", "data"},
    "checkpoint": {"base", "data", "nn"},
    "face": {"base", "checkpoint"},  # han/__init__.py: han.load and han.Classifier
    "training": {"base", "data", "nn", "checkpoint", "face"},
    "interpret": {"base", "data", "nn", "checkpoint", "face"},
    "cli": {"base", "data", "nn", "checkpoint", "face", "training", "interpret"},
    "app": {"base", "data", "nn", "checkpoint", "face", "training", "interpret"},
}
ROOT_LAYERS = {"han": "face", "han.errors": "base", "han.paper": "base", "han.__main__": "cli"}


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (a package's __init__ under its own name)."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that `name` imports anywhere in its file (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            # `from han.nn import model` imports the module han.nn.model; `from han.nn.model import HAN` the module
            found |= {f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m in modules and m != name}


def layer(name: str) -> str:
    return ROOT_LAYERS.get(name) or name.split(".")[1]


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imported(name, path, modules) for name, path in modules.items()}


def test_every_module_is_in_a_known_layer() -> None:
    assert {layer(name) for name in import_graph()} <= set(ALLOWED)


def test_a_layer_imports_only_the_layers_below_it() -> None:
    upward = [
        f"{a} imports {b}"
        for a, targets in import_graph().items()
        for b in sorted(targets)
        if layer(b) != layer(a) and layer(b) not in ALLOWED[layer(a)]
    ]
    assert not upward, upward


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's components of more than one module: each is an import circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return circles


def test_no_import_circle() -> None:
    assert strongly_connected(import_graph()) == []


def test_the_circle_finder_finds_a_circle() -> None:
    """The check above would pass on any graph if the finder found nothing: show it finds a planted circle."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [{"a", "b", "c"}]


def test_the_layer_rule_catches_an_upward_import() -> None:
    """A data module importing training must be flagged: the rule is not vacuous."""
    assert "training" not in ALLOWED[layer("han.data.text")]
    assert layer("han.training.train") == "training"


def test_han_keeps_only_its_face_at_the_top() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 6, top


def test_streamlit_is_imported_only_by_the_app_helpers() -> None:
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        if any(name.split(".")[0] == "streamlit" for name in names):
            assert path.parent == PACKAGE / "app", path


def test_no_python_module_at_the_repository_root_but_the_app() -> None:
    assert sorted(p.name for p in ROOT.glob("*.py")) == ["app.py"]


def test_no_module_over_400_lines() -> None:
    files = [*PACKAGE.rglob("*.py"), *(ROOT / "views").glob("*.py"), *(ROOT / "scripts").rglob("*.py")]
    long = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, long
