"""The loudspeaker's state as the web panel shows it, in a small JSON file beside the database.

The panel runs in a process of its own and reads the box through the store and files only
(edgebox.web.box_view says why); what the loudspeaker is doing this second is no fact for the
durable log, so the daemon writes it here whenever it changes (replaced whole, never half
written) and the panel reads it. ``written_at`` lets the panel tell a stale file (the daemon
stopped) from a live one.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path


def status_path(database: str) -> Path:
    return Path(os.path.abspath(database) + ".speaker.json")


def write_status(path: Path, state: dict) -> None:
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps({**state, "written_at": time.time()}, ensure_ascii=False),
                       encoding="utf-8")
    os.replace(partial, path)


def read_status(path: Path) -> dict | None:
    """The state last written, None when there is none (never enabled, or not started)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
