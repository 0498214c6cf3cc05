"""The import graph of `nemo_mcp.local`: no cycles (not even under TYPE_CHECKING or inside functions), the
state module at the bottom, and no imports of the MCP layers.

Every `import` statement in a module counts, wherever it sits. The implicit import of a parent package
that Python performs before a submodule is not an edge: `nemo_mcp/local/__init__.py` re-exports
`LocalBackend`, and every module is "below" it in that sense without depending on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "nemo_mcp" / "local"
PACKAGE = "nemo_mcp.local"


def module_files(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for the package at `root` and its subpackages."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join([package, *parts])] = path
    return found


def imports(path: Path, module: str) -> list[tuple[str, list[str]]]:
    """Every import statement anywhere in the file, as (absolute module, imported names); relative
    imports are resolved against `module`."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (path.name == "__init__.py")]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((base, [alias.name for alias in node.names]))
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the package's modules it imports. `from pkg import sub` is an edge to `pkg.sub` when
    that is a module, else (a name defined in `pkg`) to `pkg`; `import pkg.sub` is an edge to `pkg.sub`."""
    files = module_files(root, package)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets: set[str] = set()
        for base, names in imports(path, module):
            for name in names or [""]:
                target = f"{base}.{name}" if f"{base}.{name}" in files else base
                if target in files and target != module:
                    targets.add(target)
        graph[module] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path `[a, b, ..., a]`, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            cycle = visit(target, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_nemo_mcp_local_has_no_import_cycle() -> None:
    graph = import_graph(ROOT, PACKAGE)
    assert f"{PACKAGE}.routes.run_sse" in graph  # the walk found the subpackage
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_state_sits_at_the_bottom() -> None:
    """The state module imports leaf modules only (knobs, media), so no logic can pull it into a cycle."""
    graph = import_graph(ROOT, PACKAGE)
    below = graph[f"{PACKAGE}.state"]
    assert below <= {f"{PACKAGE}.knobs", f"{PACKAGE}.media"}
    assert all(not graph[leaf] for leaf in below), {leaf: graph[leaf] for leaf in below}


def test_handlers_reach_the_state_only_through_state_of() -> None:
    for path in (ROOT / "routes").glob("*.py"):
        if path.name != "context.py":
            assert "app.state" not in path.read_text(encoding="utf-8"), path.name


def test_local_imports_neither_api_nor_mcp() -> None:
    for module, path in module_files(ROOT, PACKAGE).items():
        for base, _ in imports(path, module):
            assert not base.startswith(("nemo_mcp.api", "nemo_mcp.server", "mcp")), f"{module} imports {base}"


@pytest.mark.parametrize(
    "b_source",
    [
        "from pkg import a\n",  # a plain cycle
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import A\n",
        "def f():\n    from . import a\n    return a\n",  # relative, inside a function
        "import pkg.sub.c\n",  # through a subpackage: b -> sub.c -> a -> b
    ],
)
def test_the_cycle_finder_sees_hidden_imports(tmp_path: Path, b_source: str) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""A package that re-exports."""\nfrom pkg.a import A\n')
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("from ..a import A\n")
    (pkg / "a.py").write_text("from pkg.b import B\nclass A: ...\n")
    (pkg / "b.py").write_text(b_source + "class B: ...\n")
    cycle = find_cycle(import_graph(pkg, "pkg"))
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert {"pkg.a", "pkg.b"} <= set(cycle)


def test_the_cycle_finder_accepts_a_tree(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from pkg.a import A\n")  # the package re-exports; not a cycle
    (pkg / "a.py").write_text("from pkg import b\nfrom pkg.b import B\nclass A(B): ...\n")
    (pkg / "b.py").write_text("import json\nclass B: ...\n")
    graph = import_graph(pkg, "pkg")
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": set()}
    assert find_cycle(graph) is None
