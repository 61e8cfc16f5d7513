"""The hub as an ASGI application (Starlette), served by ``edgebox hub serve`` with uvicorn."""
from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from edgebox.domain.phones import display
from edgebox.hub import account_pages, alerts_page, api, dashboard, report_pages
from edgebox.hub.database import open_database
from edgebox.hub.errors import HubStoreError
from edgebox.hub.local_time import DEFAULT_TIME_ZONE, county_zone, local_time
from edgebox.hub.login_limits import AuditedLoginLimits
from edgebox.hub.verify import Verifier

TEMPLATES = Path(__file__).parent / "templates"
# ``edgebox hub serve --workers N`` hands each worker process its settings here (uvicorn starts
# workers from an import string, so create_app's arguments cannot be passed directly).
SETTINGS_VARIABLE = "EDGEBOX_HUB_SETTINGS"


def _ping(db) -> None:
    with db.transaction(write=False) as tx:
        tx.one("SELECT count(*) FROM boxes")


async def healthz(request: Request) -> PlainTextResponse:
    try:
        await run_in_threadpool(_ping, request.app.state.db)
    except HubStoreError as exc:
        return PlainTextResponse(f"database unavailable: {exc}", status_code=503)
    return PlainTextResponse("ok")


def create_app(db_url: str, max_skew: float = 300, stale_hours: float = 24,
               login_attempts: int = 5, login_window_minutes: float = 15,
               time_zone: str = DEFAULT_TIME_ZONE, modem_link=None) -> Starlette:
    zone = county_zone(time_zone)
    db = open_database(db_url)

    @asynccontextmanager
    async def lifespan(app):
        link = modem_link(db) if modem_link else None  # the hub's own GSM modem, if any
        if link:
            await run_in_threadpool(link.start)
        yield
        if link:
            await run_in_threadpool(link.stop)
        db.close()

    app = Starlette(lifespan=lifespan, routes=[
        Route("/healthz", healthz),
        Route("/api/v1/events", api.upload, methods=["POST"]),
        Route("/login", dashboard.login_page, methods=["GET"]),
        Route("/login", dashboard.login, methods=["POST"]),
        Route("/logout", dashboard.logout, methods=["POST"]),
        Route("/", dashboard.boxes_page),
        Route("/boxes.csv", dashboard.boxes_page),
        Route("/incidents", dashboard.incidents_page),
        Route("/incidents.csv", dashboard.incidents_page),
        Route("/incidents/{box_id}/{log_no:int}/{incident_id:int}", dashboard.incident_page),
        Route("/audit", dashboard.audit_page),
        Route("/accounts", account_pages.accounts_page),
        Route("/accounts", account_pages.change_account, methods=["POST"]),
        Route("/boxes", account_pages.register_box, methods=["POST"]),
        Route("/boxes/{box_id}", report_pages.box_page),
        Route("/boxes/{box_id}/households", report_pages.set_households, methods=["POST"]),
        Route("/report", report_pages.report_page),
        Route("/stats", dashboard.stats_page),
        Route("/stats.csv", dashboard.stats_page),
        *alerts_page.ROUTES,
    ])
    app.state.db = db
    app.state.verifier = Verifier(db, max_skew)
    app.state.stale_hours = stale_hours
    # Per address and per account, never "everyone together" (edgebox.login_limit says why),
    # counted in the database so that every worker process sees every failure.
    app.state.login_limits = AuditedLoginLimits(db, login_attempts, login_window_minutes * 60)
    app.state.templates = Jinja2Templates(directory=str(TEMPLATES))
    # Times are stored in UTC and shown in the county's time zone (dashboard.render gives each
    # page its words, Chinese unless the user chose English).
    app.state.templates.env.filters["local"] = lambda text: local_time(text, zone)
    app.state.time_zone = time_zone
    app.state.zone = zone
    app.state.templates.env.filters["phone"] = display  # as the box writes numbers
    # A count with thousands separators, '' for none: a filter, not a template macro, because
    # a county's report writes thousands of them.
    app.state.templates.env.filters["num"] = \
        lambda value, unit="": "" if value is None else f"{value:,}{unit}"
    return app


def app_from_environment() -> Starlette:
    """The app of one worker process of ``edgebox hub serve --workers N`` (a uvicorn factory).

    Each worker has its own connection pool; everything shared between workers (sessions,
    nonces, the boxes' logs, alerts) lives in the database, never in a process's memory.
    """
    settings = json.loads(os.environ[SETTINGS_VARIABLE])
    return create_app(**settings)
