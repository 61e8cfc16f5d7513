"""The boxes' endpoint: ``POST /api/v1/events`` (see ``edgebox.uplink.protocol``).

Verification and storage are blocking database work, so they run on the server's thread pool;
the event loop only reads the body (capped) and writes the answer.
"""
from __future__ import annotations

import logging
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from edgebox.hub.errors import HubStoreError, NotAuthorised
from edgebox.hub.ingest import store_batch
from edgebox.uplink import protocol
from edgebox.uplink.errors import BadBatch

log = logging.getLogger("edgebox.hub")


async def _read_capped(request: Request) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > protocol.MAX_BODY_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > protocol.MAX_BODY_BYTES:
            return None
    return bytes(body)


# What a busy or failing hub asks the boxes to wait before they try again (the box adds its
# own jitter on top, edgebox.uplink.uploader.backoff_seconds).
RETRY_AFTER_SECONDS = 5


def _answer(status: int, **fields: object) -> JSONResponse:
    response = JSONResponse({**fields, "hub_time": time.time()}, status_code=status)
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _receive(verifier, db, headers, body: bytes, peer: str) -> JSONResponse:
    try:
        box = verifier.verify(headers, "POST", protocol.UPLOAD_PATH, body)
    except NotAuthorised as exc:
        log.warning("refused upload from %s: %s", peer, exc)
        return _answer(401, error=exc.reason, detail=exc.detail)
    try:
        batch = protocol.decode_batch(body)
    except BadBatch as exc:
        return _answer(400, error="bad_batch", detail=str(exc))
    if batch["box"] != box:
        return _answer(400, error="bad_batch", detail="the batch names another box")
    result = store_batch(db, box, batch, peer)
    if result.ahead:
        return _answer(409, error="ahead", acked_seq=result.acked_seq,
                       detail=f"the hub holds this box's log up to {result.acked_seq}")
    return _answer(200, acked_seq=result.acked_seq, stored=result.stored,
                   duplicates=result.duplicates)


async def upload(request: Request) -> JSONResponse:
    body = await _read_capped(request)
    if body is None:
        return _answer(413, error="too_large",
                       detail=f"a batch may be {protocol.MAX_BODY_BYTES} bytes at most")
    peer = request.client.host if request.client else ""
    state = request.app.state
    try:
        return await run_in_threadpool(_receive, state.verifier, state.db, request.headers,
                                       body, peer)
    except HubStoreError as exc:
        log.error("upload from %s not stored: %s", peer, exc)
        return _answer(503, error="unavailable", detail="the hub's database failed; retry")
