"""The office password: a scrypt hash in the config, never the password itself.

``edgebox web password`` asks for the password and writes its hash into the config's
``[web]`` table (``set_password_hash``), leaving every other line of the file as it was.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from pathlib import Path

from edgebox.errors import ConfigError
from edgebox.i18n import Text

# 2**14 × 8 × 128 B = 16 MiB and ~50 ms per check: the scrypt paper's interactive setting,
# affordable on a Pi 3 and slow enough to make guessing a stolen hash expensive.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
MAX_MEMORY = 64 * 1024 * 1024
MIN_LENGTH = 8
_HASH = re.compile(r"scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+")


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ConfigError("web.password_hash", Text(
            "config.password_short", "a password must be at least {length} characters",
            length=MIN_LENGTH))
    return scrypt_hash(password)


def scrypt_hash(secret: str) -> str:
    """The stored form of a secret (the office password, a leader's PIN): salted scrypt,
    checked by ``password_matches``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R,
                            p=SCRYPT_P, maxmem=MAX_MEMORY, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(digest)}"


def password_matches(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt),
                                n=int(n), r=int(r), p=int(p), maxmem=MAX_MEMORY,
                                dklen=len(expected))
    except ValueError:  # a malformed hash never matches
        return False
    return hmac.compare_digest(actual, expected)


def hash_problem(value: str) -> Text | None:
    if value == "" or _HASH.fullmatch(value):
        return None
    return Text("config.password_hash", "must be a hash written by 'edgebox web password', "
                "or \"\"")


def set_password_hash(config_path: str | Path, password_hash: str) -> None:
    """Write ``password_hash`` into the ``[web]`` table of the TOML file, in place.

    Only that one line changes (or is added, with the table when there is none); comments,
    order and the other keys stay. The file is replaced atomically with its permissions kept.
    """
    path = Path(config_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    new_line = f'password_hash = "{password_hash}"\n'
    table = None
    insert_at = None
    web_start = 0  # first line inside [web], once found
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("["):
            if table == "web" and insert_at is None:
                insert_at = _after_last_key(lines, web_start, index)
            table = stripped.strip("[]").strip()
            if table == "web":
                web_start = index + 1
        elif table == "web" and re.match(r"password_hash\s*=", stripped):
            lines[index] = new_line
            break
    else:
        if table == "web" and insert_at is None:
            insert_at = _after_last_key(lines, web_start, len(lines))
        if insert_at is not None:
            lines.insert(insert_at, new_line)
        else:
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            # Before the first [[modems]] table would be tidier, but appending is always valid
            # TOML: a [web] table may follow an array of tables.
            lines += ["\n[web]\n", new_line]
    _replace(path, "".join(lines))


def _after_last_key(lines: list[str], start: int, end: int) -> int:
    """Where a new key goes in a table spanning ``lines[start:end]``: after its last non-blank
    line, so the blank line before the next table stays."""
    position = start
    for index in range(start, end):
        if lines[index].strip() and not lines[index].lstrip().startswith("#"):
            position = index + 1
    return position


def _replace(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".edgebox-", suffix=".toml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError:
        os.unlink(temporary)
        raise
