"""What every page of the web panel shares: its context, the ``page`` decorator, ``render``
and ``route``. The page modules import this; the application (edgebox.web.app) imports them.

Every page handler is a plain function run in the thread pool (the store is synchronous); the
``page`` decorator does what all of them need first: find or start the visitor's session, send
anyone not logged in to the login page, check the CSRF token of every POST, pick the language.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from edgebox.i18n import catalogue, language, say
from edgebox.login_limit import LoginLimiter
from edgebox.web.auth import COOKIE, Sessions, same_token
from edgebox.web.guard import BodyTooLarge, read_form
from edgebox.web.i18n import LANGS, coder, translator
from edgebox.web.live import LiveEvents
from edgebox.web.settings import WebSettings

HERE = Path(__file__).parent
MAX_UPLOAD = 1024 * 1024  # a village sheet is a few kilobytes; this is generous
MAX_PUBLIC_BODY = 16 * 1024  # the login form: a password and a CSRF token


@dataclass
class WebContext:
    settings: WebSettings
    store: object
    actions: object               # put(OfficeAction): kept in the store for the daemon
    box: object                   # read-only (BoxView): siren state, modems, the config
    clock: Callable[[], datetime]
    uplink_configured: bool = False
    sessions: Sessions = None
    limiter: LoginLimiter = None
    live: LiveEvents = field(default_factory=LiveEvents)

    def __post_init__(self):
        self.sessions = self.sessions or Sessions(self.settings.session_seconds,
                                                  store=self.store.sessions)
        self.limiter = self.limiter or LoginLimiter(self.settings.login_attempts,
                                                    self.settings.login_window_seconds)


def _environment(lang: str) -> Environment:
    """The templates in ``lang``: Jinja2's i18n extension with that language's catalogue, so a
    template's own words are ``{{ pgettext("web.key", "English") }}`` (extracted by pybabel
    through babel.cfg); the panel's shared words stay ``t("key")`` (edgebox.web.i18n)."""
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                      autoescape=select_autoescape(["html", "svg"]), trim_blocks=True,
                      lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(catalogue(lang), newstyle=True)
    return env


ENVS = {lang: _environment(lang) for lang in LANGS}


def render(request: Request, template: str, status: int = 200, **values) -> HTMLResponse:
    session = request.state.session
    html = ENVS[language(session.lang)].get_template(template).render(
        t=translator(session.lang), code_word=coder(session.lang),
        say=lambda text: say(text, session.lang), lang=session.lang, csrf=session.csrf,
        logged_in=session.logged_in, path=request.url.path, **values)
    return HTMLResponse(html, status_code=status)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "?"


def page(handler=None, *, public: bool = False, limit: int | None = None):
    """Wrap a sync ``handler(request)`` as an endpoint with session, login and CSRF checks.

    A POST's body is read only after the login check (a visitor's is never read) and only up
    to its limit: MAX_PUBLIC_BODY for the public login form, ``limit`` where a page takes a
    bigger upload (a recorded prompt), MAX_UPLOAD for the rest."""
    def wrap(handler):
        async def endpoint(request: Request) -> Response:
            ctx: WebContext = request.app.state.ctx
            session = ctx.sessions.get(request.cookies.get(COOKIE))
            fresh = session is None
            if fresh:
                session = ctx.sessions.new()
            if request.query_params.get("lang") in LANGS:
                session.lang = request.query_params["lang"]
            request.state.session = session
            request.state.new_session = None
            request.state.form = None
            body_limit = MAX_PUBLIC_BODY if public else (limit or MAX_UPLOAD)
            if not public and not session.logged_in:
                response = _to_login(request)
            elif request.method == "POST" and not await _read_form(request, body_limit):
                response = render(request, "message.html", 413, message_key="too_large",
                                  fields={"kb": body_limit // 1024})
            elif request.method == "POST" and not same_token(
                    request.state.form.get("csrf") or request.headers.get("x-csrf-token"),
                    session.csrf):
                response = render(request, "message.html", 403, message_key="expired")
            else:
                response = await run_in_threadpool(handler, request)
            if request.state.form is not None:
                await request.state.form.close()
            chosen = request.state.new_session or (session if fresh else None)
            if chosen is not None:
                response.set_cookie(COOKIE, chosen.token, httponly=True, samesite="strict",
                                    max_age=int(ctx.settings.session_seconds), path="/")
            return response
        endpoint.__name__ = handler.__name__
        return endpoint
    return wrap(handler) if handler else wrap


async def _read_form(request: Request, limit: int) -> bool:
    """Read the form into request.state.form; False when the body is over ``limit``."""
    try:
        request.state.form = await read_form(request, limit)
    except BodyTooLarge:
        return False
    return True


def _to_login(request: Request) -> Response:
    if request.headers.get("hx-request"):  # htmx follows this header with a full page load
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    return RedirectResponse("/login", status_code=303)


def route(path: str, endpoint, methods=("GET",)) -> Route:
    return Route(path, endpoint, methods=list(methods))
