"""People who log in to the dashboard: users (added, re-passworded, removed and listed by
``edgebox hub user …``), scrypt-hashed passwords, sessions, CSRF tokens.

A session is a random token in a cookie; the database keeps only its SHA-256, so a leaked
database does not leak live sessions. Each session has its own CSRF token, which every form
posts back.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from edgebox.hub.errors import RegistryError
from edgebox.hub.audit import record_in
from edgebox.hub.registry import utc_iso
from edgebox.hub.scope import ROLES, Scope

# scrypt cost: 2**14 × 8 × 128 B = 16 MiB and ~50 ms per check, as the scrypt paper suggests
# for interactive logins.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
SESSION_SECONDS = 12 * 3600


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R,
                            p=SCRYPT_P, maxmem=64 * 1024 * 1024, dklen=32)
    encode = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt)}${encode(digest)}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n),
                                r=int(r), p=int(p), maxmem=64 * 1024 * 1024,
                                dklen=len(expected))
    except ValueError:  # a malformed stored hash never matches
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


MIN_PASSWORD = 10


def _checked(name: str, password: str) -> str:
    name = name.strip()
    if not name or len(name) > 64:
        raise RegistryError("a user name must be 1-64 characters", "hub_err_name")
    if len(password) < MIN_PASSWORD:
        raise RegistryError(f"a password must be at least {MIN_PASSWORD} characters",
                            "hub_err_password", n=MIN_PASSWORD)
    return name


def _checked_scope(tx, role: str, township: str, box_id: str) -> tuple[str, str]:
    """(township, box_id) as stored for ``role``; a scope naming no registered place is
    refused, so an account can never be made that silently sees nothing."""
    if role not in ROLES:
        raise RegistryError(f"a role is one of {', '.join(ROLES)}, not {role!r}",
                            "hub_err_role")
    if role == "township":
        township = township.strip()
        if not tx.one("SELECT 1 FROM boxes WHERE township = ?", (township,)):
            raise RegistryError(f"no box is registered in township {township!r}:"
                                " register its boxes first", "hub_err_township",
                                township=township)
        return township, ""
    if role == "village":
        box_id = box_id.strip()
        if not tx.one("SELECT 1 FROM boxes WHERE box_id = ?", (box_id,)):
            raise RegistryError(f"no box {box_id!r} is registered: a village account needs"
                                " its box (--box)", "hub_err_box", box=box_id)
        return "", box_id
    return "", ""


def add_user(db, name: str, password: str, replace: bool = False, role: str = "county",
             township: str = "", box_id: str = "", actor: str = "cli",
             address: str = "") -> None:
    name = _checked(name, password)
    hashed = hash_password(password)
    with db.transaction() as tx:
        township, box_id = _checked_scope(tx, role, township, box_id)
        exists = tx.one("SELECT 1 FROM users WHERE name = ?", (name,))
        if exists and not replace:
            raise RegistryError(f"user {name} exists (use --replace to set a new password)",
                                "hub_err_exists", name=name)
        if exists:
            tx.execute("UPDATE users SET password = ?, role = ?, township = ?, box_id = ?"
                       " WHERE name = ?", (hashed, role, township, box_id, name))
            tx.execute("DELETE FROM sessions WHERE user_name = ?", (name,))
        else:
            tx.execute("INSERT INTO users (name, password, created_at, role, township, box_id)"
                       " VALUES (?, ?, ?, ?, ?, ?)",
                       (name, hashed, utc_iso(), role, township, box_id))
        record_in(tx, actor, "user_replaced" if exists else "user_added",
                f"{name} {role} {township or box_id}".strip(), address)


def set_password(db, name: str, password: str, actor: str = "cli") -> None:
    """A new password for an existing user; their open sessions end (whoever knew the old
    password is logged out too)."""
    name = _checked(name, password)
    hashed = hash_password(password)
    with db.transaction() as tx:
        if tx.execute("UPDATE users SET password = ? WHERE name = ?", (hashed, name)) == 0:
            raise RegistryError(f"no user {name}")
        tx.execute("DELETE FROM sessions WHERE user_name = ?", (name,))
        record_in(tx, actor, "password_set", name)


def remove_user(db, name: str, actor: str = "cli", address: str = "") -> None:
    """The user and their sessions go: a page open in their browser answers with the login."""
    name = name.strip()
    with db.transaction() as tx:
        tx.execute("DELETE FROM sessions WHERE user_name = ?", (name,))
        if tx.execute("DELETE FROM users WHERE name = ?", (name,)) == 0:
            raise RegistryError(f"no user {name}", "hub_err_no_user", name=name)
        record_in(tx, actor, "user_removed", name, address)


def list_users(db) -> list[dict]:
    """Every user: name, created_at, last_login_at and how many live sessions (no hashes)."""
    with db.transaction(write=False) as tx:
        return tx.dicts("SELECT u.name, u.role, u.township, u.box_id, u.created_at,"
                        " u.last_login_at, (SELECT count(*) FROM"
                        " sessions s WHERE s.user_name = u.name AND s.expires_at >= ?) AS"
                        " sessions FROM users u ORDER BY u.name", (time.time(),))


def check_login(db, name: str, password: str) -> bool:
    with db.transaction(write=False) as tx:
        row = tx.one("SELECT password FROM users WHERE name = ?", (name.strip(),))
    if row is None:
        hash_password(password)  # the same time whether or not the name exists
        return False
    return password_matches(password, row[0])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(db, name: str) -> tuple[str, str]:
    """A new session for ``name``: (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = time.time()
    with db.transaction() as tx:
        tx.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
        tx.execute("INSERT INTO sessions (token_hash, user_name, csrf, expires_at)"
                   " VALUES (?, ?, ?, ?)", (_digest(token), name, csrf, now + SESSION_SECONDS))
        tx.execute("UPDATE users SET last_login_at = ? WHERE name = ?", (utc_iso(), name))
    return token, csrf


def session_of(db, token: str | None) -> dict | None:
    """{'user', 'csrf', 'scope'} of a live session, or None."""
    if not token:
        return None
    with db.transaction(write=False) as tx:
        row = tx.one("SELECT s.user_name, s.csrf, u.role, u.township, u.box_id FROM sessions s"
                     " JOIN users u ON u.name = s.user_name WHERE s.token_hash = ? AND"
                     " s.expires_at >= ?", (_digest(token), time.time()))
    if row is None:
        return None
    return {"user": row[0], "csrf": row[1],
            "scope": Scope(row[2], row[3] or "", row[4] or "")}


def close_session(db, token: str) -> None:
    with db.transaction() as tx:
        tx.execute("DELETE FROM sessions WHERE token_hash = ?", (_digest(token),))


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())

