"""Who owns the database files a command run as root wrote.

The daemon runs as its own user (edgebox) and must write its database; a technician or the
provisioning step writes the roster as root. SQLite creates the database and its -wal and -shm
files with the writer's owner, and a root-owned -shm locks the daemon out. The data directory's
owner is the daemon's user (the package and the image create it so), so the files are handed
to that owner.
"""
from __future__ import annotations

import os
from pathlib import Path


def give_to_directory_owner(database: Path) -> None:
    """Hand the database and SQLite's side files to the owner of their directory (as root)."""
    if os.geteuid() != 0:
        return  # only root can give files away; anyone else wrote them as themselves
    owner = database.parent.stat()
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if path.exists():
            os.chown(path, owner.st_uid, owner.st_gid)
