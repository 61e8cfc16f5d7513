"""The dashboard: login, boxes, incidents, per-village statistics with charts, CSV exports.

Every page needs a logged-in hub user. Forms that change something (log in, log out) carry a
CSRF token: the session's own, or before login a double-submit cookie. Failed logins are limited
per address and per account (``edgebox.hub.login_limits``): once over a limit, an
attempt is refused without its password even being checked until its wait has passed. CSV
files start with a BOM so Excel and WPS open the Chinese names correctly, and no cell of theirs
can start a formula.
"""
from __future__ import annotations

import csv
import functools
import io
import logging
import math
import secrets
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from edgebox.domain.alarm import alarm_label
from edgebox.hub import accounts, audit, charts, reports
from edgebox.hub.incident_detail import incident_detail
from edgebox.hub.local_time import local_time, zone_words
from edgebox.domain.timeline import close_reason
from edgebox.web.i18n import LANGS, translator
from edgebox.web.guard import BodyTooLarge, read_form

log = logging.getLogger("edgebox.hub")
SESSION_COOKIE = "edgebox_hub_session"
LOGIN_CSRF_COOKIE = "edgebox_hub_login_csrf"
# The login and logout forms are a few short fields: a body past this is refused while it
# streams in, before anything is parsed (anyone may post to /login).
MAX_FORM_BYTES = 16 * 1024
LANG_COOKIE = "edgebox_hub_lang"


def lang_of(request: Request) -> str:
    """Chinese unless the user chose English (?lang=en, remembered in a cookie), as on the
    box's panel."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LANGS else "zh"


def words(request: Request):
    """The request's translator: the panel's dictionary in the user's language."""
    return translator(lang_of(request))


async def small_form(request: Request):
    """The request's form, or None when its body is over MAX_FORM_BYTES."""
    try:
        return await read_form(request, MAX_FORM_BYTES, max_files=0)
    except BodyTooLarge:
        return None


def too_large(request: Request) -> Response:
    return PlainTextResponse(words(request)("too_large", kb=MAX_FORM_BYTES // 1024),
                             status_code=413)


async def session_form(request: Request, session: dict):
    """(the form a logged-in user posted, None), or (None, the answer refusing it): a body
    over MAX_FORM_BYTES, or a form token that is not the session's (a forged or stale form)."""
    form = await small_form(request)
    if form is None:
        return None, too_large(request)
    if not accounts.same_token(form.get("csrf"), session["csrf"]):
        return None, PlainTextResponse(words(request)("expired"), status_code=403)
    return form, None


def render(request: Request, name: str, **context) -> Response:
    lang = lang_of(request)
    zone = request.app.state.time_zone
    context = {"t": translator(lang), "lang": lang,
               "zone": zone_words(zone, lang),
               "label": lambda kind: alarm_label(kind or "call", lang),
               "reason": lambda code: close_reason(lang, code or ""),
               **context}
    response = request.app.state.templates.TemplateResponse(request, name, context)
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 24 * 3600)
    return response


async def session_of_request(request: Request) -> dict | None:
    return await run_in_threadpool(accounts.session_of, request.app.state.db,
                                   request.cookies.get(SESSION_COOKIE))


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def signed_in(page=None, *, county_only: bool = False):
    """A page for a logged-in user: ``page(request, session)``; anyone else is sent to the
    login page, and back here after it. ``county_only``: any other user gets "not found"
    (the page's existence is not confirmed to a township or a village)."""
    def guard(page):
        @functools.wraps(page)
        async def guarded(request: Request) -> Response:
            session = await session_of_request(request)
            if session is None:
                return to_login(request)
            if county_only and not session["scope"].is_county:
                return not_found(request)
            return await page(request, session)
        return guarded
    return guard(page) if page is not None else guard


def signed_in_form(post=None, *, county_only: bool = False):
    """A form a logged-in user posts: ``post(request, session, form)``, once the body is read
    within MAX_FORM_BYTES and its form token is the session's (else the refusal answers)."""
    def guard(post):
        @signed_in(county_only=county_only)
        @functools.wraps(post)
        async def guarded(request: Request, session: dict) -> Response:
            form, refusal = await session_form(request, session)
            if refusal is not None:
                return refusal
            return await post(request, session, form)
        return guarded
    return guard(post) if post is not None else guard


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an open redirect to another host.
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


async def login_page(request: Request) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", csrf=token, error="",
                      next=_safe_next(request.query_params.get("next")))
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


def _login_again(request: Request, form, status: int, error: str) -> Response:
    """The login form once more, with ``error`` and a new CSRF cookie."""
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", csrf=token, next=_safe_next(form.get("next")),
                      error=error)
    response.status_code = status
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


async def login(request: Request) -> Response:
    form = await small_form(request)
    if form is None:
        return too_large(request)
    if not accounts.same_token(form.get("csrf"), request.cookies.get(LOGIN_CSRF_COOKIE)):
        return PlainTextResponse(words(request)("expired"), status_code=403)
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    account = name.strip()[:64]
    state = request.app.state
    client = request.client.host if request.client else "?"
    wait = await run_in_threadpool(state.login_limits.wait_seconds, client, account)
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        response = _login_again(request, form, 429, words(request)("too_many", minutes=minutes))
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    if not await run_in_threadpool(accounts.check_login, state.db, name, password):
        log.warning("failed login as %r from %s", account, client)
        await run_in_threadpool(audit.record, state.db, account, "login_failed", "", client)
        return _login_again(request, form, 401, words(request)("hub_wrong_login"))
    session, _ = await run_in_threadpool(accounts.open_session, state.db, name.strip())
    await run_in_threadpool(audit.record, state.db, name.strip(), "login", "", client)
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https",
                        max_age=accounts.SESSION_SECONDS)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


async def logout(request: Request) -> Response:
    session = await session_of_request(request)
    if session is None:  # nobody to log out: the body is not even read
        return RedirectResponse("/login", status_code=303)
    form, refusal = await session_form(request, session)
    if refusal is not None:
        return refusal
    await run_in_threadpool(accounts.close_session, request.app.state.db,
                            request.cookies[SESSION_COOKIE])
    await run_in_threadpool(audit.record, request.app.state.db, session["user"], "logout",
                            "", client_address(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# Cells a spreadsheet would run as a formula (OWASP "CSV Injection": = + - @ tab CR). A box
# sends its own texts (names, alarm words typed by villagers), so any of them may start so.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralised(cell: object) -> object:
    """A text cell that would start a formula, prefixed with ' so Excel and WPS show it as
    text (OWASP's advice); numbers stay numbers."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def client_address(request: Request) -> str:
    return request.client.host if request.client else "?"


def not_found(request: Request) -> Response:
    """Outside the user's scope looks exactly like not there: ids are not revealed."""
    return HTMLResponse(f"<h1>{words(request)('not_found')}</h1>", status_code=404)


# The columns that hold a time: stored in UTC, exported in the county's time zone (as every
# page shows them), the zone named in the column's header.
TIME_COLUMNS = frozenset({"last_seen", "opened_at", "first_ack_at", "closed_at"})


async def _exported(request: Request, session: dict, name: str, header: list[str],
                    rows: list[list]) -> Response:
    """A CSV download, written to the audit log with what was asked for."""
    await run_in_threadpool(audit.record, request.app.state.db, session["user"], "export",
                            f"{name}?{request.url.query}"[:500], client_address(request))
    state, lang = request.app.state, lang_of(request)
    zone = zone_words(state.time_zone, lang)
    times = [index for index, column in enumerate(header) if column in TIME_COLUMNS]
    for row in rows:
        for index in times:
            row[index] = local_time(row[index], state.zone)
    return _csv(name, [words(request)(f"csv_{column}", zone=zone) for column in header], rows)


def _csv(name: str, header: list[str], rows: list[list]) -> Response:
    """``header``: the columns' names in the user's words (``csv_<column>``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([neutralised(cell) for cell in row] for row in rows)
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@signed_in
async def boxes_page(request: Request, session: dict) -> Response:
    state = request.app.state
    filters = reports.Filters.from_query(request.query_params, session["scope"])
    rows = await run_in_threadpool(reports.boxes, state.db, filters, state.stale_hours)
    if request.url.path.endswith(".csv"):
        return await _exported(request, session, "boxes.csv", [
            "county", "township", "village", "box_id", "last_seen", "log_no", "acked_seq",
            "backlog", "open_incidents", "stale"], [
            [r["county"], r["township"], r["village"], r["box_id"], r["last_seen"], r["log_no"],
             r["acked_seq"], r["backlog"], r["open_incidents"], r["stale"]] for r in rows])
    places = await run_in_threadpool(reports.places, state.db, session["scope"])
    return render(request, "boxes.html", session=session, boxes=rows, filters=filters,
                  places=places, query=urlencode(request.query_params))


@signed_in
async def incidents_page(request: Request, session: dict) -> Response:
    state = request.app.state
    filters = reports.Filters.from_query(request.query_params, session["scope"])
    rows = await run_in_threadpool(reports.incidents, state.db, filters)
    if request.url.path.endswith(".csv"):
        return await _exported(request, session, "incidents.csv",
                               list(reports.INCIDENT_COLUMNS),
                               [[r.get(c) for c in reports.INCIDENT_COLUMNS] for r in rows])
    places = await run_in_threadpool(reports.places, state.db, session["scope"])
    return render(request, "incidents.html", session=session, incidents=rows,
                  filters=filters, places=places, limit=reports.MAX_ROWS,
                  query=urlencode(request.query_params))


@signed_in
async def stats_page(request: Request, session: dict) -> Response:
    state = request.app.state
    filters = reports.Filters.from_query(request.query_params, session["scope"])
    try:
        months = min(36, max(1, int(request.query_params.get("months", "12"))))
    except ValueError:
        months = 12
    stats = await run_in_threadpool(reports.village_stats, state.db, filters, months)
    if request.url.path.endswith(".csv"):
        header = ["county", "township", "village", "month", "alarms", "failed_deliveries",
                  "median_minutes_to_ack_in_window"]
        return await _exported(request, session, "village-stats.csv", header, [
            [v["county"], v["township"], v["village"], month, v["alarms"][month],
             v["failed"][month], v["median_minutes_to_ack"]]
            for v in stats["villages"] for month in stats["months"]])
    labels = charts.month_labels(stats["months"])
    t = words(request)
    charted = _charted_places(stats["villages"])
    for place in charted:
        place["alarm_chart"] = charts.bar_chart(
            t("hub_alarms_chart", name=place["name"]), labels, list(place["alarms"].values()))
        place["failed_chart"] = charts.bar_chart(
            t("hub_failed_chart", name=place["name"]), labels, list(place["failed"].values()),
            colour="#7f8c8d")
    # One bar per village: drawn for a township's villages, not a county's thousand (the
    # table lists every village's median).
    waits = [v for v in stats["villages"] if v["median_minutes_to_ack"] is not None] \
        if len(stats["villages"]) <= CHARTED_VILLAGES else []
    ack_chart = charts.bar_chart(
        t("hub_ack_chart"), [v["village"] for v in waits],
        [v["median_minutes_to_ack"] for v in waits], width=max(320, 60 * len(waits) + 60),
        colour="#2980b9", unit=t("hub_minute_unit")) if waits else ""
    places = await run_in_threadpool(reports.places, state.db, session["scope"])
    return render(request, "stats.html", session=session, stats=stats, filters=filters,
                  places=places, months=months, ack_chart=ack_chart,
                  charted=charted, charted_villages=CHARTED_VILLAGES,
                  query=urlencode(request.query_params))


# Past this many villages the page charts each township instead (a county's thousand villages
# would be two thousand charts nobody reads, and the page would take seconds); choosing a
# township charts its villages.
CHARTED_VILLAGES = 60


def _charted_places(villages: list[dict]) -> list[dict]:
    """What the page draws two charts for: each village, or each township when there are
    more than CHARTED_VILLAGES villages (their alarms and failures summed)."""
    if len(villages) <= CHARTED_VILLAGES:
        return [{**v, "name": f"{v['township']} {v['village']}"} for v in villages]
    townships: dict[str, dict] = {}
    for village in villages:
        place = townships.setdefault(village["township"], {
            "name": village["township"], "alarms": dict.fromkeys(village["alarms"], 0),
            "failed": dict.fromkeys(village["failed"], 0)})
        for month, n in village["alarms"].items():
            place["alarms"][month] += n
        for month, n in village["failed"].items():
            place["failed"][month] += n
    return [townships[name] for name in sorted(townships)]


@signed_in
async def incident_page(request: Request, session: dict) -> Response:
    """One alarm's timeline, as ``edgebox incidents show`` prints it on the box."""
    params = request.path_params
    detail = await run_in_threadpool(incident_detail, request.app.state.db, session["scope"],
                                     params["box_id"], params["log_no"], params["incident_id"],
                                     lang_of(request))
    if detail is None:
        return not_found(request)
    return render(request, "incident.html", session=session, **detail,
)


@signed_in(county_only=True)
async def audit_page(request: Request, session: dict) -> Response:
    """The audit log, for county users only (others get 'not found', as for any page
    outside their scope)."""
    rows = await run_in_threadpool(audit.audit_log, request.app.state.db)
    return render(request, "audit.html", session=session, rows=rows)
