"""No import cycle anywhere in `shared/`.

A cycle works only while every module in it happens to be imported in a lucky order
(or only from inside functions), and it ties the modules into one unit that cannot be
understood, tested or vendored apart. The graph counts every import the source holds:
module-level, inside functions and under `TYPE_CHECKING`, because each of them is a
dependency a reader has to follow.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared"


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if path.name == "__init__.py" else parts)


def _modules(root: Path) -> dict[str, Path]:
    return {_module_name(p, root): p for p in sorted((root / "shared").rglob("*.py"))
            if "__pycache__" not in p.parts}


def _targets(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The dotted names an import statement may refer to, most specific first."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    assert isinstance(node, ast.ImportFrom)
    base = node.module or ""
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        parts = package.split(".")
        anchor = ".".join(parts[:len(parts) - node.level + 1])
        base = f"{anchor}.{base}" if base else anchor
    # `from a import b` imports module a.b when b is a module, else a name from a.
    return [f"{base}.{a.name}" for a in node.names] + [base]


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> the `shared` modules it imports anywhere in its code."""
    modules = _modules(root)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            targets = _targets(node, name, path.name == "__init__.py")
            if isinstance(node, ast.ImportFrom):
                *names, base = targets
                hit = [t for t in names if t in modules]
                edges.update(hit)
                if len(hit) < len(names) and base in modules:
                    edges.add(base)
            else:
                edges.update(t for t in targets if t in modules)
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None. Depth-first, in a stable order."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_shared_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle in shared/: " + " -> ".join(cycle or [])


def test_the_walk_sees_function_level_and_relative_imports(tmp_path):
    """The check must be able to fail: a cycle closed only inside a function, through
    a relative import, is found and named."""
    pkg = tmp_path / "shared" / "pkg"
    pkg.mkdir(parents=True)
    (tmp_path / "shared" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from shared.pkg import b\n")
    (pkg / "b.py").write_text("def later():\n    from .c import thing\n    return thing\n")
    (pkg / "c.py").write_text("import shared.pkg.a\nthing = 1\n")
    graph = import_graph(tmp_path)
    assert graph["shared.pkg.b"] == {"shared.pkg.c"}
    assert find_cycle(graph) == ["shared.pkg.a", "shared.pkg.b", "shared.pkg.c",
                                 "shared.pkg.a"]
    (pkg / "c.py").write_text("thing = 1\n")
    assert find_cycle(import_graph(tmp_path)) is None
