"""The bridge's structure, read from its own imports (docs/architecture.md): no import cycles;
the router reaches no platform; the store and the outbox, the bottom layer, reach neither the
router nor a platform; and a platform reaches no other platform."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "bridge"

Graph = dict[str, set[str]]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(package: str = PACKAGE) -> Graph:
    """Module -> the package's modules it imports (anywhere in the file: a cycle through a
    function-level or TYPE_CHECKING import is still a cycle)."""
    files = {module_name(p): p for p in (ROOT / package).rglob("*.py")}
    graph: Graph = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for target in _imports(ast.parse(path.read_text(), str(path)), name, is_package):
            # `from a.b import c` names module a.b.c when there is one, else a name in a.b.
            found = target if target in files else target.rpartition(".")[0]
            if found in files and found != name:
                graph[name].add(found)
    return graph


def _imports(tree: ast.Module, module: str, is_package: bool) -> Iterable[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                anchor = here[: len(here) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # Each name: a submodule of `base`, or else a name defined in `base`.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def cycles(graph: Graph) -> list[list[str]]:
    """Every strongly connected set of two or more modules (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def reachable(graph: Graph, start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _under(modules: Iterable[str], prefix: str) -> list[str]:
    return sorted(m for m in modules if m == prefix or m.startswith(prefix + "."))


def test_the_checker_finds_a_cycle_and_what_a_module_reaches() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert reachable(graph, "d") == {"a", "b", "c"}
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_checker_reads_relative_and_from_imports() -> None:
    tree = ast.parse("from . import sender\nfrom ..outbox.jobs import Job\nimport bridge.keys\n")
    names = set(_imports(tree, "bridge.platforms.slack.inbound", is_package=False))
    assert {"bridge.platforms.slack.sender", "bridge.platforms.outbox.jobs.Job"} <= names
    assert "bridge.keys" in names


def test_the_bridge_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 50, "the bridge's modules were not found"
    assert cycles(graph) == []


def test_the_local_stand_ins_have_no_import_cycle() -> None:
    graph = import_graph("standins")
    assert len(graph) > 10, "the stand-ins' modules were not found"
    assert cycles(graph) == []


def test_the_router_reaches_no_platform() -> None:
    graph = import_graph()
    for module in _under(graph, "bridge.router"):
        assert _under(reachable(graph, module), "bridge.platforms") == [], module


def test_the_store_and_the_outbox_reach_neither_the_router_nor_a_platform() -> None:
    graph = import_graph()
    for module in _under(graph, "bridge.store") + _under(graph, "bridge.outbox"):
        above = reachable(graph, module)
        assert _under(above, "bridge.router") == [], module
        assert _under(above, "bridge.platforms") == [], module


def test_each_platform_keeps_to_itself() -> None:
    graph = import_graph()
    platforms = {m.split(".")[2] for m in _under(graph, "bridge.platforms") if m.count(".") >= 2}
    assert platforms >= {"slack", "telegram", "widget"}
    for platform in platforms:
        for module in _under(graph, f"bridge.platforms.{platform}"):
            others = [
                m for m in _under(graph[module], "bridge.platforms") if m.split(".")[2] != platform
            ]
            assert others == [], module


def test_slack_vocabulary_stays_in_the_slack_package() -> None:
    """Only the Slack package, the settings and the deployment check import Slack's SDKs."""
    allowed = ("bridge.platforms.slack", "bridge.settings", "bridge.app", "bridge.deploy_check")
    for path in (ROOT / PACKAGE).rglob("*.py"):
        name = module_name(path)
        tree = ast.parse(path.read_text(), str(path))
        sdk = [
            n for n in _imports(tree, name, path.name == "__init__.py") if n.startswith("slack_")
        ]
        if sdk:
            assert name.startswith(allowed), f"{name} imports {sorted(set(sdk))}"
