"""House rules that a reader cannot see from one file: the layers' imports and the size of functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ecg_backend"
WEB_MODULES = (
    "flask",
    "flask_login",
    "flask_sqlalchemy",
    "flask_migrate",
    "flask_wtf",
    "flask_limiter",
    "werkzeug",
    "click",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module that ``path`` imports, at module level or inside a function, as absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_inside_the_package():
    """Imports inside functions count: they hide a cycle rather than remove it. A package's ``__init__``
    importing its own submodules is not a cycle of the layers, so packages are not edges to their children."""
    graph = _graph()
    for name in graph:
        graph[name] = {m for m in graph[name] if not m.startswith(name + ".") and not name.startswith(m + ".")}
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph))}"


@pytest.mark.parametrize("layer", ["ml", "signals"])
def test_model_and_signal_layers_know_nothing_of_the_web(layer):
    for path in (PACKAGE / layer).rglob("*.py"):
        web = sorted(m for m in _imports(path) if m.split(".")[0] in WEB_MODULES)
        assert not web, f"{path.relative_to(PACKAGE.parent)} imports {web}"


def test_no_function_above_cyclomatic_complexity_20():
    from radon import complexity as radon  # requirements-dev.txt

    worst = []
    for path in PACKAGE.rglob("*.py"):
        for block in radon.cc_visit(path.read_text(encoding="utf-8")):
            if block.complexity > 20:
                worst.append(f"{path.relative_to(PACKAGE.parent)}:{block.lineno} {block.name} ({block.complexity})")
    assert not worst, "too complex: " + ", ".join(worst)
