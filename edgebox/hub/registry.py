"""Registered boxes: id, secret token, and place in the county → township → village hierarchy.

The hub keeps each box's token itself (not a hash of it): verifying an HMAC needs the key. The
token is shown once, when the box is added, and never listed.
"""
from __future__ import annotations

import json
import re
import secrets
from datetime import datetime, timezone

from edgebox.hub.audit import record_in
from edgebox.hub.errors import RegistryError

BOX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def utc_iso(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def add_box(db, box_id: str, county: str, township: str, village: str,
            token: str | None = None, replace: bool = False, actor: str = "cli",
            address: str = "") -> str:
    """Register a box (or, with ``replace``, give it a new token and place); its token. The
    change is in the audit log, made by ``actor`` from ``address``."""
    if not BOX_ID.match(box_id):
        raise RegistryError(f"box id {box_id!r} must be 1-64 ASCII letters, digits, '.', '_'"
                            " or '-' (it travels in an HTTP header)", "hub_err_box_id")
    for label, value in (("county", county), ("township", township), ("village", village)):
        if not value.strip():
            raise RegistryError(f"the box's {label} must not be empty", "hub_err_place")
    token = token or new_token()
    if len(token) < 16:
        raise RegistryError("a token must be at least 16 characters")
    with db.transaction() as tx:
        exists = tx.one("SELECT 1 FROM boxes WHERE box_id = ?", (box_id,))
        if exists and not replace:
            raise RegistryError(f"box {box_id} is already registered (use --replace to give it"
                                " a new token)", "hub_err_box_exists", box=box_id)
        if exists:
            tx.execute("UPDATE boxes SET token = ?, county = ?, township = ?, village = ?"
                       " WHERE box_id = ?", (token, county, township, village, box_id))
        else:
            now = utc_iso()
            tx.execute("INSERT INTO boxes (box_id, token, county, township, village, created_at)"
                       " VALUES (?, ?, ?, ?, ?, ?)",
                       (box_id, token, county, township, village, now))
            # Its first log, named by the box's first upload (ingest.log_of).
            tx.execute("INSERT INTO box_logs (box_id, log_no, log_id, started_at)"
                       " VALUES (?, 1, NULL, ?)", (box_id, now))
        record_in(tx, actor, "box_replaced" if exists else "box_added",
                  f"{box_id} {county} {township} {village}", address)
    return token


def box_token(db, box_id: str) -> str | None:
    with db.transaction(write=False) as tx:
        row = tx.one("SELECT token FROM boxes WHERE box_id = ?", (box_id,))
    return row[0] if row else None


def list_boxes(db) -> list[dict]:
    """Every box with what it last reported (no tokens), ordered by place: ``log_no`` is the
    log it uploads to now (2 and up: its database was replaced), ``acked_seq`` how far the hub
    has that log."""
    with db.transaction(write=False) as tx:
        rows = tx.dicts(
            "SELECT box_id, county, township, village, created_at, last_seen, last_address,"
            " log_no, acked_seq, backlog, status FROM boxes"
            " ORDER BY county, township, village, box_id")
    for row in rows:
        row["status"] = json.loads(row["status"]) if row["status"] else {}
    return rows
