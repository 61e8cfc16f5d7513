"""Is this request really from that box, fresh, and not seen before?

Order of checks: headers present → box registered → signature (HMAC-SHA256 with the box's
token over time, nonce, method, path and body digest) → time within ``max_skew`` of the hub's
clock → nonce never seen. Nonces are remembered for twice the skew window; an older request is
already refused by its time, so the table stays small.
"""
from __future__ import annotations

import re
import time

from edgebox.hub.errors import NotAuthorised
from edgebox.hub.registry import box_token
from edgebox.uplink import protocol

NONCE = re.compile(r"^[0-9a-f]{32}$")


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
        token = box_token(self.db, box)
        if token is None:
            raise NotAuthorised("unknown_box", f"box {box!r} is not registered")
        if not protocol.signature_matches(token, signature, box, stamp, nonce, method, path,
                                          body):
            raise NotAuthorised("bad_signature", "the signature does not match this request")
        if not stamp.isdigit():
            raise NotAuthorised("bad_signature", "the time must be whole Unix seconds")
        now = self.clock()
        skew = int(stamp) - now
        if abs(skew) > self.max_skew:
            raise NotAuthorised("clock_skew", f"box clock is {skew:+.0f} s from the hub's"
                                              f" (at most ±{self.max_skew:g} s)")
        if not NONCE.match(nonce):
            raise NotAuthorised("bad_signature", "the nonce must be 32 lowercase hex digits")
        self._remember(box, nonce, now)
        return box

    def _remember(self, box: str, nonce: str, now: float) -> None:
        with self.db.transaction() as tx:
            if now - self._last_purge > 60:
                tx.execute("DELETE FROM nonces WHERE seen_at < ?", (now - 2 * self.max_skew,))
                self._last_purge = now
            added = tx.execute("INSERT INTO nonces (box_id, nonce, seen_at) VALUES (?, ?, ?)"
                               " ON CONFLICT (box_id, nonce) DO NOTHING", (box, nonce, now))
        if added == 0:
            raise NotAuthorised("replay", "this request was already received")
