"""The shape of the package, read from the source: no import cycles (type-only imports count),
layers that only point down, and no module over the house limit of 400 lines."""

from __future__ import annotations

import ast
import re
import threading
from collections.abc import Mapping
from pathlib import Path

import pytest

from wxbudget import config
from wxbudget.config import Flags

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wxbudget"
ARCHITECTURE = ROOT / "ARCHITECTURE.md"
MAX_LINES = 400

Graph = dict[str, set[str]]


def module_names(package: Path) -> dict[str, Path]:
    """Dotted name of every module under `package` (a package is named by its `__init__`)."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _known(name: str, modules: Mapping[str, Path]) -> str | None:
    """The module `name` loads: itself, or the nearest enclosing known module."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(package: Path) -> Graph:
    """Module -> the package's modules it imports, anywhere in its body: at the top, inside a
    function (lazy imports) or under `if TYPE_CHECKING:` (type-only imports)."""
    modules = module_names(package)
    graph: Graph = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name if is_package else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                # `from pkg import name` loads the submodule pkg.name when there is one.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            else:
                continue
            for target in targets:
                found = _known(target, modules)
                if found is not None and found != name:
                    edges.add(found)
        graph[name] = edges
    return graph


def find_cycles(graph: Graph) -> list[list[str]]:
    """One concrete cycle (a -> b -> ... -> a) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_through(group, graph) for group in groups]


def _cycle_through(group: set[str], graph: Graph) -> list[str]:
    """The shortest way from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & group):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # a strongly connected group has one


def closure(graph: Graph, start: str) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for target in graph[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


GRAPH = import_graph(PACKAGE)


def test_no_import_cycles() -> None:
    cycles = find_cycles(GRAPH)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_module_imports_its_own_package_init() -> None:
    """Inside a package, modules import each other directly, never through its `__init__`
    (which may re-export them: that is for callers outside)."""
    offenders = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if in_package(module, target) and module != target
    ]
    assert not offenders


def test_no_module_over_the_line_limit() -> None:
    long = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in module_names(PACKAGE).values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them along a real seam): {long}"


def test_layers_point_down() -> None:
    """The library under the CLI never reaches up to the commands or the views, and only the
    CLI's embedded default and `sandbox` command start the emulator."""
    entry_points = ("wxbudget.cli", "wxbudget.entry", "wxbudget.__main__")
    library = [m for m in GRAPH if not any(in_package(m, top) for top in entry_points)]
    upward = [
        f"{module} -> {target}"
        for module in library
        for target in GRAPH[module]
        if in_package(target, "wxbudget.cli")
        or (in_package(target, "wxbudget.render") and not in_package(module, "wxbudget.render"))
        or (in_package(target, "wxbudget.sandbox") and not in_package(module, "wxbudget.sandbox"))
    ]
    assert not upward
    sandbox_users = {
        module
        for module, targets in GRAPH.items()
        if not in_package(module, "wxbudget.sandbox")
        and any(in_package(t, "wxbudget.sandbox") for t in targets)
    }
    assert sandbox_users == {"wxbudget.cli.embedded", "wxbudget.cli.sandbox"}


def test_config_reaches_no_server_printer_or_network() -> None:
    reached = closure(GRAPH, "wxbudget.config")
    forbidden = ("wxbudget.sandbox", "wxbudget.render", "wxbudget.cli", "wxbudget.transport")
    assert not [m for m in reached if any(in_package(m, f) for f in forbidden)], sorted(reached)


def test_without_a_config_file_config_reports_it_and_starts_nothing(
    isolated_environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    threads = threading.active_count()
    env = {"XDG_CONFIG_HOME": str(isolated_environment / "nowhere")}
    with pytest.raises(config.NoConfigFile) as raised:
        config.resolve(Flags(), env)
    assert raised.value.path == isolated_environment / "nowhere" / "wxbudget" / "config.toml"
    assert "wxbudget profile init" in raised.value.message
    assert threading.active_count() == threads
    assert capsys.readouterr() == ("", "")


def imported_libraries(path: Path) -> set[str]:
    """Every dotted name a module imports, wherever in its body."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _under(path: Path, owner: str) -> bool:
    return str(path.relative_to(ROOT)) == owner or (
        owner.endswith("/") and str(path.relative_to(ROOT)).startswith(owner)
    )


def test_architecture_page_names_real_paths_and_every_module() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = set(re.findall(r"`(wxbudget/[\w/.]*)`", text))
    assert {name for name in named if not (ROOT / name).exists()} == set()
    top_level = {
        str(path.relative_to(ROOT)) + ("/" if path.is_dir() else "")
        for path in PACKAGE.iterdir()
        if path.suffix == ".py" or (path / "__init__.py").exists()
    }
    assert top_level - named == set(), "modules the map in ARCHITECTURE.md does not name"


def test_each_library_is_imported_only_where_the_architecture_page_says() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    table = text.split("| library | imported only in |", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip("|").split("|") for line in table.strip().splitlines()[1:]]
    assert len(rows) >= 6
    modules = module_names(PACKAGE).values()
    for libraries, where in rows:
        owners = re.findall(r"`([^`]+)`", where)
        for library in (name.strip() for name in libraries.split(",")):
            importers = [
                path
                for path in modules
                if any(
                    n == library or n.startswith(library + ".") for n in imported_libraries(path)
                )
            ]
            strays = [str(p) for p in importers if not any(_under(p, o) for o in owners)]
            assert strays == [], f"{library} imported outside {owners}"
            idle = [o for o in owners if not any(_under(p, o) for p in importers)]
            assert idle == [], f"{library} is not imported in {idle}"


def test_the_graph_sees_lazy_and_type_only_imports_and_names_a_cycle(tmp_path: Path) -> None:
    """The checks above can fail: a cycle closed only by a type-only or a lazy import is found."""
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("from shop.orders import Order\n")
    (package / "orders.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from shop.views import render\n"
        "class Order: ...\n"
    )
    (package / "views.py").write_text("def render():\n    from shop import tax\n")
    (package / "tax.py").write_text("from . import orders\nimport shop\n")
    graph = import_graph(package)
    assert graph["shop.orders"] == {"shop.views"}
    assert graph["shop.views"] == {"shop.tax"}
    assert graph["shop.tax"] == {"shop.orders", "shop"}
    assert find_cycles(graph) == [["shop", "shop.orders", "shop.views", "shop.tax", "shop"]]
    assert closure(graph, "shop.views") == {"shop", "shop.orders", "shop.views", "shop.tax"}


def test_every_name_the_render_package_offers_resolves() -> None:
    # render/__init__ loads its views on first use (a name -> module table beside the typed
    # imports): a name the table misses or misspells would fail only when its command runs.
    import wxbudget.render as render

    for name in render.__all__:
        assert callable(getattr(render, name)), name
    with pytest.raises(AttributeError):
        _ = render.no_such_view
