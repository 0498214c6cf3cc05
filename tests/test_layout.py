"""The layout rules of the package: no import cycle anywhere (imports inside `if TYPE_CHECKING:` and inside
functions count too), layers that stay apart, small modules in the MCP layer, single inheritance."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "nemo_mcp"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(name: str) -> set[str]:
    """Every nemo_mcp module `name` imports, wherever the import statement sits."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = _resolve(name, path.name == "__init__.py", node)
            # `from pkg import submodule` imports the submodule; `from pkg import thing`, the package
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in MODULES else mod for a in node.names]
        for t in targets:
            # the longest prefix that is a module of ours ("from pkg import submodule" names the submodule)
            while t and t not in MODULES:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def _cycle() -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(GRAPH[n]):
            if state.get(m) == 1:
                return [*stack[stack.index(m) :], m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(GRAPH):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_no_import_cycle() -> None:
    cycle = _cycle()
    assert cycle is None, " -> ".join(cycle or [])


def test_the_walker_sees_a_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself can fail: a planted back edge is reported."""
    monkeypatch.setitem(GRAPH, "nemo_mcp.api.errors", {*GRAPH["nemo_mcp.api.errors"], "nemo_mcp.api.client"})
    assert _cycle() is not None


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("nemo_mcp.api", ("mcp", "nemo_mcp.server", "nemo_mcp.local")),
        ("nemo_mcp.local", ("mcp", "nemo_mcp.server", "nemo_mcp.api")),
        # the state store is the bottom layer: api and server use it, it uses nothing of theirs
        ("nemo_mcp.store", ("mcp", "nemo_mcp.server", "nemo_mcp.api", "nemo_mcp.local", "nemo_mcp.language")),
        # FFmpeg work (frames, sheets, previews): paths and URLs in, files out; no protocol, no backend
        ("nemo_mcp.media", ("mcp", "nemo_mcp.server", "nemo_mcp.api", "nemo_mcp.local", "nemo_mcp.language")),
    ],
)
def test_layers_stay_apart(layer: str, forbidden: tuple[str, ...]) -> None:
    for name, path in MODULES.items():
        if not (name == layer or name.startswith(layer + ".")):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            mods = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for mod in mods:
                bad = any(mod == f or mod.startswith(f + ".") for f in forbidden)
                assert not bad, f"{name} imports {mod}"


def test_the_mcp_layer_stays_small() -> None:
    assert len((ROOT / "server" / "app.py").read_text().splitlines()) < 120
    for path in [*(ROOT / "server").rglob("*.py"), *(ROOT / "store").rglob("*.py")]:
        n = len(path.read_text().splitlines())
        assert n <= 400, f"{path.relative_to(ROOT)} has {n} lines"


_ALLOWED_MULTI_BASES = ("Exception", "Error", "BaseModel", "Protocol")


def test_classes_have_at_most_one_base() -> None:
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and len(node.bases) > 1:
                names = [ast.unparse(b) for b in node.bases]
                allowed = any(n.endswith(_ALLOWED_MULTI_BASES) for n in names)
                assert allowed, f"{path.name}: {node.name}{names}"
