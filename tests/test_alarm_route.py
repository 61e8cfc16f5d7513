"""The alarm's route in edgebox/daemon/service.py's docstring (a ``+CLIP`` to the last SMS)
stays true to the code: each numbered step names a file that exists, each name it quotes
(``on_call``, ``_claim`` …) is defined on the route or in the store it calls, and it stays at
most six files, as the README says."""
import ast
import re
from pathlib import Path

import edgebox.daemon.service as service

ROOT = Path(__file__).resolve().parent.parent
STEP = re.compile(r"^(\d+)\. (edgebox/\S+\.py)", re.M)


def steps() -> list[tuple[Path, list[str]]]:
    doc = service.__doc__
    route = doc[doc.index("Follow a ``+CLIP``"):doc.index("\n\n", doc.index("\n1. "))]
    found = []
    for match, following in zip(STEP.finditer(route), [*STEP.finditer(route)][1:] + [None]):
        text = route[match.end():following.start() if following else len(route)]
        names = [n.split(".")[-1] for n in re.findall(r"``([A-Za-z_.]+)``", text)]
        found.append((ROOT / match.group(2), names))
    return found


def defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
    return names


def test_the_route_names_six_files_that_exist_and_what_they_define():
    route = steps()
    assert 1 <= len(route) <= 6
    assert len({path for path, _ in route}) == len(route)
    assert all(path.is_file() for path, _ in route), route
    # A step may name what it hands over to (the handler, the store's call): defined in one
    # of the route's files or in the store.
    known = set().union(*(defined(path) for path, _ in route),
                        *(defined(path) for path in (ROOT / "edgebox/store").glob("*.py")))
    missing = [(path.name, name) for path, names in route for name in names if name not in known]
    assert not missing
