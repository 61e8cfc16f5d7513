"""What keeps the web panel from being used against the box: security headers on every answer,
and request bodies bounded while they stream in.

The headers are added by an ASGI wrapper around the whole application, outside Starlette's own
error handling, so a 404, a 405 and a 500 carry them too, not only the pages.

A body is counted as it arrives and refused (413) the moment it passes its limit: nothing is
read before the size is known to be acceptable, so a 50 MB "roster" or a 300 MB login form
never reaches memory or a temporary file. A declared Content-Length over the limit is refused
before a single byte of the body is read.
"""
from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request

# The pages load only their own script (the vendored htmx and app.js) and stylesheet: no inline
# script, style or handler anywhere (htmx is told not to add its indicator style and not to
# eval, by the htmx-config meta tag in base.html). The live stream is same-origin.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "media-src 'self'",  # the office listens to its recorded prompt
    "connect-src 'self'", "font-src 'self'", "form-action 'self'", "frame-ancestors 'none'",
    "base-uri 'none'"])

SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
]


class SecurityHeaders:
    """ASGI wrapper: every HTTP answer of ``app`` carries SECURITY_HEADERS."""

    def __init__(self, app):
        self.app = app

    def __getattr__(self, name):  # app.state and friends stay reachable through the wrapper
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def _counted(receive, limit: int):
    """``receive`` that raises BodyTooLarge once more than ``limit`` body bytes came in."""
    seen = 0

    async def receive_counted():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message
    return receive_counted


async def read_form(request: Request, limit: int, max_files: int = 1,
                    max_fields: int = 100) -> FormData:
    """The request's form, its whole body at most ``limit`` bytes (BodyTooLarge past it)."""
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit)
    bounded = Request(request.scope, _counted(request.receive, limit))
    return await bounded.form(max_files=max_files, max_fields=max_fields, max_part_size=limit)
