"""The wire format between a box and the hub, shared by both ends.

A box POSTs one batch to ``{hub}/api/v1/events``:

- body: gzip-compressed UTF-8 JSON
  ``{"box": ID, "log": LOG, "after": N, "through": M, "events": [{seq, at, kind, incident_id,
  data}, …], "status": {…}}``. ``log`` names the box's database (a random id made with it):
  sequence numbers count within one log, so a box whose database was replaced sends a new log
  from seq 1 and the hub keeps it apart from the old one. ``after`` is the last sequence number
  the box believes the hub has acknowledged of that log; ``events`` are the log's events with
  ``after < seq <= through``, oldest first (``through == after`` and no events: a heartbeat
  carrying only the status). A batch without ``log`` (a box from before log ids) continues the
  box's latest log at the hub.
- headers: ``X-Edgebox-Box`` (the box id), ``X-Edgebox-Time`` (Unix seconds),
  ``X-Edgebox-Nonce`` (32 hex digits, never reused), ``X-Edgebox-Signature: v1=HEX`` where HEX is
  HMAC-SHA256, keyed with the box's token, over ``string_to_sign`` below. The signature covers
  the box id, time, nonce, method, path and the SHA-256 of the compressed body, so a changed
  byte, a request replayed to another path, or a request reused by another box all fail.
- answer 200: ``{"acked_seq": N, "stored": k, "duplicates": d, "hub_time": t}``; the box's
  cursor moves to ``acked_seq`` and nothing else moves it forward.
- answer 401: ``{"error": "bad_signature" | "clock_skew" | "replay" | "missing_header",
  "hub_time": t}`` (an unknown box id answers exactly like a wrong signature, so the hub does
  not tell a stranger which box ids exist); 400 ``{"error": "bad_batch"}`` for a batch of the
  wrong shape, a whole number outside 0 … 2**63-1 included; 409 ``{"error": "ahead",
  "acked_seq": N}`` when ``after`` is beyond what the hub has of that log (its database was
  restored): the box rewinds to N.
"""
from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import re
import secrets
import zlib

from edgebox.uplink.errors import BadBatch

UPLOAD_PATH = "/api/v1/events"
SCHEME = "v1"
BOX_HEADER = "X-Edgebox-Box"
TIME_HEADER = "X-Edgebox-Time"
NONCE_HEADER = "X-Edgebox-Nonce"
SIGNATURE_HEADER = "X-Edgebox-Signature"
# A decompressed batch larger than this is refused: a few thousand events are a few MB, and a
# small gzip bomb must not take the hub's memory.
MAX_BATCH_BYTES = 64 * 1024 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
LOG_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Sequence numbers, incident ids and counts are stored as signed 64-bit integers (SQLite
# INTEGER, PostgreSQL BIGINT): a number outside this range is a bad batch, not a database error.
MAX_WHOLE = 2 ** 63 - 1


def _whole(value: object, lowest: int = 0) -> bool:
    """A JSON whole number the hub can store: an int (not a bool) in lowest … MAX_WHOLE."""
    return (isinstance(value, int) and not isinstance(value, bool)
            and lowest <= value <= MAX_WHOLE)


def string_to_sign(box: str, timestamp: str, nonce: str, method: str, path: str,
                   body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join(["edgebox-upload-v1", box, timestamp, nonce, method.upper(), path,
                      digest]).encode("utf-8")


def sign(token: str, box: str, timestamp: str, nonce: str, method: str, path: str,
         body: bytes) -> str:
    mac = hmac.new(token.encode("utf-8"),
                   string_to_sign(box, timestamp, nonce, method, path, body), hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def signature_matches(token: str, signature: str, box: str, timestamp: str, nonce: str,
                      method: str, path: str, body: bytes) -> bool:
    expected = sign(token, box, timestamp, nonce, method, path, body)
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def new_nonce() -> str:
    return secrets.token_hex(16)


def signed_headers(token: str, box: str, now: float, path: str, body: bytes,
                   nonce: str | None = None) -> dict[str, str]:
    timestamp = str(int(now))
    nonce = nonce or new_nonce()
    return {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        BOX_HEADER: box,
        TIME_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: sign(token, box, timestamp, nonce, "POST", path, body),
    }


def encode_batch(box: str, after: int, events: list[dict], status: dict,
                 log: str = "") -> bytes:
    through = events[-1]["seq"] if events else after
    document = {"box": box, **({"log": log} if log else {}), "after": after, "through": through,
                "events": [{"seq": e["seq"], "at": e["at"], "kind": e["kind"],
                            "incident_id": e["incident_id"], "data": e["data"]}
                           for e in events],
                "status": status}
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    # mtime=0: the same batch compresses to the same bytes, whenever it is sent.
    return gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)


def _inflate(body: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=31)  # gzip framing
    try:
        raw = inflater.decompress(body, MAX_BATCH_BYTES)
    except zlib.error as exc:
        raise BadBatch(f"body is not gzip: {exc}") from exc
    if inflater.unconsumed_tail:
        raise BadBatch(f"batch is larger than {MAX_BATCH_BYTES} bytes uncompressed")
    if not inflater.eof:
        raise BadBatch("body is a truncated gzip stream")
    return raw


def decode_batch(body: bytes) -> dict:
    """The batch in ``body``, checked for shape; BadBatch says what is wrong."""
    try:
        document = json.loads(_inflate(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError: also a number of more digits than Python converts (its int limit).
        raise BadBatch(f"batch is not UTF-8 JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise BadBatch("batch must be a JSON object")
    for name, kind in (("box", str), ("after", int), ("through", int), ("events", list),
                       ("status", dict)):
        if not isinstance(document.get(name), kind) or isinstance(document.get(name), bool):
            raise BadBatch(f"batch field '{name}' is missing or of the wrong type")
    log = document.get("log")
    if log is not None and not (isinstance(log, str) and LOG_ID.fullmatch(log)):
        raise BadBatch("batch field 'log' must be 1-64 ASCII letters, digits, '_' or '-'")
    previous = document["after"]
    if not _whole(previous):
        raise BadBatch(f"'after' must be a whole number from 0 to {MAX_WHOLE}")
    backlog = document["status"].get("backlog")
    if backlog is not None and not _whole(backlog):
        raise BadBatch(f"'status.backlog' must be a whole number from 0 to {MAX_WHOLE}")
    for event in document["events"]:
        if not isinstance(event, dict):
            raise BadBatch("every event must be an object")
        seq = event.get("seq")
        if not _whole(seq) or seq <= previous:
            raise BadBatch(f"event sequence numbers must increase after {previous} and stay "
                           f"at most {MAX_WHOLE}, got {seq!r}")
        if not isinstance(event.get("at"), str) or not isinstance(event.get("kind"), str):
            raise BadBatch(f"event {seq} needs text 'at' and 'kind'")
        incident = event.get("incident_id")
        if incident is not None and not _whole(incident):
            raise BadBatch(f"event {seq}: 'incident_id' must be a whole number from 0 to "
                           f"{MAX_WHOLE}, or null")
        if not isinstance(event.get("data"), dict):
            raise BadBatch(f"event {seq}: 'data' must be an object")
        previous = seq
    if document["through"] != previous:
        raise BadBatch("'through' must be the last event's sequence number (or 'after')")
    return document
