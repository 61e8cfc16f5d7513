"""One signed exchange with the hub over HTTP(S): the box's side of ``protocol``.

httpx checks the hub's certificate whenever the URL is https:// (against the system's trust
store, or the county's own CA file when one is configured); errors come out as UplinkError
subclasses and never as httpx's own.
"""
from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

import httpx

from edgebox.uplink import protocol
from edgebox.uplink.errors import ClockSkew, HubRejected, HubUnavailable


@dataclass(frozen=True)
class Ack:
    acked_seq: int
    stored: int
    duplicates: int
    hub_time: float | None
    wire_bytes: int  # request body and headers as sent, plus the answer's body


class Ahead(HubRejected):
    """The hub has less than the box thought (answer 409): rewind to ``acked_seq``."""

    def __init__(self, acked_seq: int):
        super().__init__(409, "ahead", f"hub has up to {acked_seq}")
        self.acked_seq = acked_seq


# The longest wait a hub's Retry-After may impose: a wrong or hostile header must not silence
# a box for days.
MAX_RETRY_AFTER = 3600


def _retry_after(headers) -> float | None:
    """A 503's Retry-After in seconds (RFC 9110 section 10.2.3: seconds or an HTTP date; the
    hub sends seconds, a date from a proxy is not trusted against the box's clock)."""
    value = headers.get("retry-after", "").strip()
    if not value.isdigit():
        return None
    return float(min(int(value), MAX_RETRY_AFTER))


class HubClient:
    def __init__(self, url: str, box_id: str, token: str, timeout: float = 30,
                 ca_file: str = "", clock: Callable[[], float] = time.time,
                 transport: httpx.BaseTransport | None = None):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.endpoint = url.rstrip("/") + protocol.UPLOAD_PATH
        # The signature names the endpoint, not the URL's full path, so a hub behind a reverse
        # proxy that strips a prefix still verifies it.
        self.path = protocol.UPLOAD_PATH
        self.box_id = box_id
        self._token = token
        self.clock = clock
        # Seconds to add to the box's clock when signing, learnt from a hub that said our
        # clock is off (a box without RTC or network time may boot in 1970).
        self.clock_offset = 0.0
        verify: bool | ssl.SSLContext = True
        if ca_file:
            verify = ssl.create_default_context(cafile=ca_file)
        self._http = httpx.Client(timeout=timeout, verify=verify, transport=transport,
                                  headers={"User-Agent": "edgebox-uplink/1"})

    def close(self) -> None:
        self._http.close()

    def post_batch(self, body: bytes) -> Ack:
        headers = protocol.signed_headers(self._token, self.box_id,
                                          self.clock() + self.clock_offset, self.path, body)
        try:
            response = self._http.post(self.endpoint, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise HubUnavailable(f"hub did not answer in time ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:  # refused, reset, DNS, TLS and certificate errors
            raise HubUnavailable(f"cannot reach the hub: {exc}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if response.status_code >= 500:
            raise HubUnavailable(f"hub failed with {response.status_code}"
                                 f" {answer.get('error', '')}".rstrip(),
                                 retry_after=_retry_after(response.headers))
        if response.status_code == 409 and isinstance(answer.get("acked_seq"), int):
            raise Ahead(answer["acked_seq"])
        if response.status_code == 401 and answer.get("error") == "clock_skew":
            hub_time = answer.get("hub_time")
            raise ClockSkew(401, float(hub_time) if isinstance(hub_time, (int, float)) else None,
                            str(answer.get("detail", "")))
        if response.status_code != 200 or not isinstance(answer.get("acked_seq"), int):
            raise HubRejected(response.status_code, str(answer.get("error", "unexpected")),
                              str(answer.get("detail", "")))
        sent = len(body) + sum(len(k) + len(v) + 4 for k, v in headers.items())
        return Ack(answer["acked_seq"], int(answer.get("stored", 0)),
                   int(answer.get("duplicates", 0)), answer.get("hub_time"),
                   sent + len(response.content))

    def learn_clock(self, hub_time: float) -> None:
        self.clock_offset = hub_time - self.clock()
