"""The layering rules of the edgebox package, checked on its import graph.

The graph is built statically: every module under edgebox/ is parsed with ``ast`` and every
``import x`` and ``from x import y`` counts, at module level or inside a function (an import
put inside a function to dodge a cycle is still the same dependency, only hidden). An import
under ``if TYPE_CHECKING:`` names a type and never runs: it counts for the layers (a web page
that names a daemon type depends on the daemon) but cannot make a cycle.

The rules (docs: DESIGN.md section 1, "The shape"):
- no import cycles between modules;
- the domain is pure: it imports nothing of edgebox outside the domain but the one exception
  hierarchy (edgebox.errors) and the word catalogues' lookups (edgebox.i18n: its words are
  package data, read-only), and no database, serial, thread, socket or HTTP library; the words
  are a leaf, and the errors import nothing but the words (a config error's message is a Text,
  said in the reader's language);
- the edges (adapters, web, uplink, hub) and the store never import the daemon or the top
  CLI: what they show or need reaches them through read models and ports;
- edgebox.config (the core sections and the mechanism of the config file) imports no
  adapter, web, uplink or hub module: each of those owns its section and declares it.
"""
from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "edgebox"

# What the pure domain may not reach for: I/O, threads and the network belong to adapters.
IMPURE = ("sqlite3", "serial", "gsmmodem", "RPi", "threading", "socket", "http", "urllib",
          "subprocess", "starlette", "httpx", "queue")
OUTER_LAYERS = ("edgebox.adapters", "edgebox.web", "edgebox.uplink", "edgebox.hub",
                "edgebox.store")
ERRORS = "edgebox.errors"
WORDS = "edgebox.i18n"


def module_names(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package at ``root``."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imported_names(module: str, path: Path) -> list[tuple[str, bool]]:
    """Every name ``module`` imports, absolute, each ``from x import y`` as ``x.y`` (it may be
    a module or a name in x; ``known_target`` decides), with whether it is for types only."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    types_only = {id(inner) for node in ast.walk(tree) if _is_type_checking_block(node)
                  for statement in node.body for inner in ast.walk(statement)}
    found = []
    for node in ast.walk(tree):  # every depth: imports inside functions count
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from ..store import y
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            names = [f"{source}.{alias.name}" for alias in node.names]
        else:
            continue
        found.extend((name, id(node) in types_only) for name in names)
    return found


def _is_type_checking_block(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` or ``if typing.TYPE_CHECKING:``."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def known_target(name: str, modules: dict[str, Path]) -> str | None:
    """The module of the package ``name`` lands in (longest known prefix), or None."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(root: Path = PACKAGE, with_types: bool = True
                 ) -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """(module -> modules of the package it imports, module -> every name it imports); the
    imports for types only are left out unless ``with_types``."""
    modules = module_names(root)
    edges, raw = {}, {}
    for module, path in modules.items():
        raw[module] = [name for name, types_only in imported_names(module, path)
                       if with_types or not types_only]
        edges[module] = {target for name in raw[module]
                         if (target := known_target(name, modules)) not in (None, module)}
    return edges, raw


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle path (first module repeated at the end) per strongly connected component of
    more than one module (Tarjan's algorithm, iterative)."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(edges.get(successor, ())))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(_path_through(min(component), component, edges))
    return components


def _path_through(start: str, component: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest path from ``start`` back to itself inside ``component`` (breadth first)."""
    came_from = {start: None}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for successor in sorted(edges[node] & component):
                if successor == start:
                    path, step = [], node
                    while step is not None:
                        path.append(step)
                        step = came_from[step]
                    return [*reversed(path), start]
                if successor not in came_from:
                    came_from[successor] = node
                    following.append(successor)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # a component always has one


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@functools.cache
def edgebox_graph(with_types: bool = True):
    """edgebox's own import graph, parsed once per run when a rule first asks for it (not at
    import: every pytest process collects this file, and ``-k`` runs that select none of its
    tests should not parse the whole package)."""
    return import_graph(with_types=with_types)


def _breaking(modules: str | tuple[str, ...], forbidden) -> list[str]:
    """'a -> b' for every import of a module under ``modules`` that ``forbidden(target)``."""
    prefixes = (modules,) if isinstance(modules, str) else modules
    return sorted(f"{module} -> {target}" for module, targets in edgebox_graph()[0].items()
                  if any(_within(module, p) for p in prefixes)
                  for target in targets if forbidden(target))


# ---- the rules ---------------------------------------------------------------------------------

def test_no_import_cycles():
    found = cycles(edgebox_graph(with_types=False)[0])
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_domain_imports_only_the_domain_the_errors_and_the_words():
    breaking = _breaking("edgebox.domain", lambda t: not (_within(t, "edgebox.domain")
                                                           or t in (ERRORS, WORDS)))
    assert not breaking, "\n".join(breaking)


@pytest.mark.parametrize("leaf, allowed", [(ERRORS, {WORDS}), (WORDS, set())])
def test_the_errors_and_the_words_are_leaves(leaf, allowed):
    # the things of edgebox outside the domain the domain may use must bring nothing along
    # (the errors bring only the words, which the domain may use anyway)
    assert edgebox_graph()[0][leaf] <= allowed


def test_the_domain_does_no_io_and_starts_no_threads():
    impure = sorted(f"{module} imports {name}" for module, names in edgebox_graph()[1].items()
                    if _within(module, "edgebox.domain")
                    for name in names if name.split(".")[0] in IMPURE)
    assert not impure, "\n".join(impure)


def test_edges_and_store_never_import_the_daemon_or_the_top_cli():
    breaking = _breaking(OUTER_LAYERS, lambda t: _within(t, "edgebox.daemon")
                         or t == "edgebox.cli")
    assert not breaking, "\n".join(breaking)


def test_config_imports_no_adapter_web_uplink_or_hub_module():
    owners = ("edgebox.adapters", "edgebox.web", "edgebox.uplink", "edgebox.hub")
    breaking = _breaking("edgebox.config", lambda t: any(_within(t, o) for o in owners))
    assert not breaking, "\n".join(breaking)


# ---- the graph itself: a rule is only as good as the graph it reads ---------------------------

@pytest.fixture
def toy_package(tmp_path: Path) -> Path:
    root = tmp_path / "toy"
    (root / "inner").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "import toy.b\n",
        "b.py": "def later():\n    from toy.inner import c\n",  # inside a function
        "inner/__init__.py": "",
        "inner/c.py": "from ..a import something\n",  # relative, two levels
        "d.py": "from toy import inner\nimport os\n",  # a package, and the standard library
        "e.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from toy import d\n",
    }
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_the_graph_sees_function_level_and_relative_imports(toy_package):
    edges, raw = import_graph(toy_package)
    assert edges == {"toy": set(), "toy.a": {"toy.b"}, "toy.b": {"toy.inner.c"},
                     "toy.inner": set(), "toy.inner.c": {"toy.a"}, "toy.d": {"toy.inner"},
                     "toy.e": {"toy.d"}}
    assert "os" in raw["toy.d"]
    assert import_graph(toy_package, with_types=False)[0]["toy.e"] == set()


def test_a_cycle_is_reported_with_its_path(toy_package):
    edges, _ = import_graph(toy_package)
    assert cycles(edges) == [["toy.a", "toy.b", "toy.inner.c", "toy.a"]]


def test_a_box_with_real_modems_loads_no_emulator_code():
    """The FakeModem runs on the emulator's code; the daemon's composition root loads it only
    for a ``fake://`` port, so a box on a wall starts faster and keeps about 1 MiB more."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, edgebox.daemon.app, edgebox.cli; print(' '.join("
         "m for m in sys.modules if m.startswith('edgebox.emulator') or m.endswith('.fake')))"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent)
    assert loaded.stdout.split() == []


# ---- the modem workers reach the store through their port --------------------------------------

WORKER_MODULES = ("modem_worker", "ring_call", "send_failures", "system_commands")


def protocol_members(protocol) -> set[str]:
    return {name for name in vars(protocol) if not name.startswith("_")}


def store_uses(source: str) -> set[tuple[str, ...]]:
    """Every chain of attributes read from a store in ``source``: ``self.store.outbox.finish``
    and ``store.outbox.finish`` as ("outbox", "finish"), ``outbox.retry`` (a store's outbox
    handed on) as ("outbox", "retry")."""
    uses = set()
    attributes = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Attribute)]
    inner = {id(node.value) for node in attributes}  # a.b of a.b.c: only whole chains count
    for node in attributes:
        if id(node) in inner:
            continue
        chain, base = [], node
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        chain.reverse()
        if isinstance(base, ast.Name) and base.id == "self" and chain[:1] == ["store"]:
            chain = chain[1:]
        elif not (isinstance(base, ast.Name) and base.id in ("store", "outbox")):
            continue
        elif base.id == "outbox":
            chain = ["outbox", *chain]
        if chain:
            uses.add(tuple(chain[:2]))
    return uses


def test_the_modem_workers_touch_only_what_their_store_port_offers():
    from edgebox.daemon import ports

    tables = {"outbox": ports.WorkerOutbox, "incidents": ports.IncidentReads,
              "inbox": ports.SmsKeeper, "health": ports.HealthLog}
    assert protocol_members(ports.WorkerStore) == {*tables, "append_event"}
    beyond = []
    for name in WORKER_MODULES:
        path = PACKAGE / "daemon" / f"{name}.py"
        for chain in sorted(store_uses(path.read_text(encoding="utf-8"))):
            if chain[0] not in protocol_members(ports.WorkerStore) or (
                    len(chain) > 1 and chain[0] in tables
                    and chain[1] not in protocol_members(tables[chain[0]])):
                beyond.append(f"{name}: store.{'.'.join(chain)}")
    assert not beyond, "\n".join(beyond)


def test_the_store_use_reader_sees_each_way_a_worker_reaches_the_store():
    source = ("def f(self, store, outbox):\n"
              "    self.store.outbox.finish(1)\n    store.summary()\n    outbox.retry()\n"
              "    self.modem.ring()\n")
    assert store_uses(source) == {("outbox", "finish"), ("summary",), ("outbox", "retry")}
