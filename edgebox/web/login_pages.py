"""Logging in and out, with failed attempts limited per address and logged."""
from __future__ import annotations

import math

from starlette.responses import RedirectResponse

from edgebox.web.pages import client_address, page, render, route
from edgebox.web.passwords import password_matches

USER = "office"  # one password for the office's duty officers; the log says "office"


@page(public=True)
def login_page(request):
    if request.state.session.logged_in:
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html")


@page(public=True)
def login(request):
    ctx = request.app.state.ctx
    client = client_address(request)
    wait = ctx.limiter.wait_seconds(client)
    if wait > 0:
        return render(request, "login.html", 429, error_key="too_many",
                      minutes=max(1, math.ceil(wait / 60)))
    if not password_matches(request.state.form.get("password", ""), ctx.settings.password_hash):
        ctx.limiter.failed(client)
        ctx.store.append_event(ctx.clock(), "web_login_failed", address=client)
        return render(request, "login.html", 401, error_key="wrong_password")
    ctx.limiter.succeeded(client)
    old = request.state.session
    ctx.sessions.end(old.token)
    request.state.new_session = ctx.sessions.new(USER, old.lang)
    ctx.store.append_event(ctx.clock(), "web_login", user=USER, address=client)
    return RedirectResponse("/", status_code=303)


@page
def logout(request):
    ctx = request.app.state.ctx
    ctx.sessions.end(request.state.session.token)
    request.state.new_session = ctx.sessions.new(lang=request.state.session.lang)
    return RedirectResponse("/login", status_code=303)


ROUTES = [
    route("/login", login_page),
    route("/login", login, ["POST"]),
    route("/logout", logout, ["POST"]),
]
