"""The web panel as an ASGI application (Starlette): the pages' routes and the static files,
behind the security headers. What the pages share is in edgebox.web.pages."""
from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from edgebox.web import (broadcast_pages, dashboard_pages, health_pages, login_pages,
                         roster_pages, speaker_pages, speech_pages)
from edgebox.web.guard import SecurityHeaders
from edgebox.web.pages import HERE, WebContext


def create_app(ctx: WebContext) -> SecurityHeaders:
    routes = [
        *login_pages.ROUTES, *dashboard_pages.ROUTES, *roster_pages.ROUTES,
        *broadcast_pages.ROUTES, *health_pages.ROUTES, *speaker_pages.ROUTES,
        *speech_pages.ROUTES,
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.ctx = ctx
    return SecurityHeaders(app)
