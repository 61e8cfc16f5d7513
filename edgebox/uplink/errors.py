"""Errors of the uplink, on the box and at the hub.

    EdgeboxError
    └── UplinkError            an upload did not go through
        ├── HubUnavailable     no answer, a timeout, or the hub's own failure (5xx): try later
        ├── HubRejected        the hub refused the request (4xx): wrong token, bad batch …
        │   └── ClockSkew      the box's clock is too far from the hub's (carries the hub's time)
        ├── LinkDown           no link to the hub, and bringing one up did not help
        └── BadBatch           a batch cannot be decoded (raised at the hub, answered with 400)

httpx and OS errors are translated where they happen, with ``raise … from exc``.
"""
from __future__ import annotations

from edgebox.errors import EdgeboxError


class UplinkError(EdgeboxError):
    pass


class HubUnavailable(UplinkError):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        # Seconds the hub asked the box to wait (its Retry-After), when it said so.
        self.retry_after = retry_after


class HubRejected(UplinkError):
    def __init__(self, status: int, reason: str, detail: str = ""):
        super().__init__(f"hub refused the upload ({status} {reason})"
                         + (f": {detail}" if detail else ""))
        self.status = status
        self.reason = reason


class ClockSkew(HubRejected):
    def __init__(self, status: int, hub_time: float | None, detail: str = ""):
        super().__init__(status, "clock_skew", detail)
        self.hub_time = hub_time


class LinkDown(UplinkError):
    pass


class BadBatch(UplinkError):
    pass
