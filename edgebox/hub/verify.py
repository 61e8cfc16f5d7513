"""Is this request really from that box, fresh, and not seen before?

Order of checks: headers present → box registered → signature (HMAC-SHA256 with the box's
token over time, nonce, method, path and body digest) → time within ``max_skew`` of the hub's
clock → nonce never seen. Nonces are remembered for twice the skew window; an older request is
already refused by its time, so the table stays small.

An unknown box id is refused exactly like a wrong signature (same reason, same words, and an
HMAC computed all the same), so the answers do not tell a stranger which box ids exist; the
hub's own log says which it was.
"""
from __future__ import annotations

import logging
import re
import time

from edgebox.hub.errors import NotAuthorised
from edgebox.uplink import protocol

NONCE = re.compile(r"^[0-9a-f]{32}$")
STAMP = re.compile(r"^[0-9]{1,12}$")
# The one answer for "no such box" and "wrong signature".
BAD_SIGNATURE = ("bad_signature", "the signature does not match this request")
# Signs for an unknown box, so that refusal costs the same time as a wrong signature.
_NO_TOKEN = "no box has this token"
log = logging.getLogger("edgebox.hub")


class Verifier:
    def __init__(self, db, max_skew: float = 300, clock=time.time):
        self.db = db
        self.max_skew = max_skew
        self.clock = clock
        self._last_purge = 0.0

    def verify(self, headers, method: str, path: str, body: bytes) -> str:
        """The box id when the request passes; NotAuthorised(reason) when not."""
        box = headers.get(protocol.BOX_HEADER, "")
        stamp = headers.get(protocol.TIME_HEADER, "")
        nonce = headers.get(protocol.NONCE_HEADER, "")
        signature = headers.get(protocol.SIGNATURE_HEADER, "")
        if not (box and stamp and nonce and signature):
            raise NotAuthorised("missing_header", "box, time, nonce and signature are required")
        # One transaction for the token and the nonce: two round trips to the database fewer
        # per batch than a transaction each (a refusal raised inside it writes nothing).
        with self.db.transaction() as tx:
            row = tx.one("SELECT token FROM boxes WHERE box_id = ?", (box,))
            token = row[0] if row else None
            matches = protocol.signature_matches(token or _NO_TOKEN, signature, box, stamp,
                                                 nonce, method, path, body)
            if token is None or not matches:
                if token is None:
                    log.warning("upload for unregistered box %r", box[:64])
                raise NotAuthorised(*BAD_SIGNATURE)
            if not STAMP.match(stamp):
                raise NotAuthorised("bad_signature", "the time must be whole Unix seconds")
            now = self.clock()
            skew = int(stamp) - now
            if abs(skew) > self.max_skew:
                raise NotAuthorised("clock_skew", f"box clock is {skew:+.0f} s from the hub's"
                                                  f" (at most ±{self.max_skew:g} s)")
            if not NONCE.match(nonce):
                raise NotAuthorised("bad_signature",
                                    "the nonce must be 32 lowercase hex digits")
            self._remember(tx, box, nonce, now)
        return box

    def _remember(self, tx, box: str, nonce: str, now: float) -> None:
        if now - self._last_purge > 60:
            tx.execute("DELETE FROM nonces WHERE seen_at < ?", (now - 2 * self.max_skew,))
            self._last_purge = now
        added = tx.execute("INSERT INTO nonces (box_id, nonce, seen_at) VALUES (?, ?, ?)"
                           " ON CONFLICT (box_id, nonce) DO NOTHING", (box, nonce, now))
        if added == 0:
            raise NotAuthorised("replay", "this request was already received")
