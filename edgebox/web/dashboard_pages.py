"""The duty officer's pages: the live dashboard, an incident's timeline, and the actions.

The dashboard and the incident page refresh their live parts through htmx whenever the server
pushes an event over SSE (``/stream``), so a new alarm shows up without reloading the page.
Actions become OfficeActions handed to the daemon's office desk; the alarm loop carries them out.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from edgebox.domain import office_actions as office
from edgebox.domain.alarm import alarm_label
from edgebox.domain.phones import display
from edgebox.domain.timeline import contacts_of, describe
from edgebox.readmodels import queries
from edgebox.web.auth import COOKIE
from edgebox.web.charts import incident_timeline
from edgebox.web.i18n import translator
from edgebox.web.login_pages import USER
from edgebox.web.pages import page, render, route

INCIDENT_ACTIONS = {"acknowledge": office.ACKNOWLEDGE, "cancel": office.CANCEL,
                    "siren_on": office.SIREN_ON, "siren_off": office.SIREN_OFF}


OFFICE = "office"  # the "household" an acknowledgement by the village office is recorded as
OFFICE_NAME = "村委"


def _name_of(roster):
    def name(household_id: str) -> str:
        if household_id == OFFICE:
            return OFFICE_NAME
        try:
            return roster.household(household_id).name
        except KeyError:
            return household_id
    return name


def _group_name(roster, group_id: str) -> str:
    try:
        return roster.group(group_id).name
    except KeyError:
        return group_id


def _dashboard_values(request: Request) -> dict:
    ctx = request.app.state.ctx
    roster = ctx.store.roster.load()
    lang = request.state.session.lang
    now = ctx.clock()
    events = queries.events_since(ctx.store, queries.local_day_start(now))
    return {
        "incidents": queries.open_incidents(ctx.store),
        "groups": roster.groups,
        "roster_empty": roster.is_empty,
        "recent": queries.recent_incidents(ctx.store, 10),
        "modems": ctx.box.modems(),
        "siren_on": ctx.box.siren_is_on(),
        "events": [(queries.when(e["at"]), e["kind"], describe(e, roster, lang, _contacts(ctx)))
                   for e in events],
        "name_of": _name_of(roster), "group_name": lambda g: _group_name(roster, g),
        "display": display, "when": queries.when,
        "alarm_label": lambda alarm_type: alarm_label(alarm_type, lang),
    }


@page
def dashboard(request):
    return render(request, "dashboard.html", **_dashboard_values(request))


@page
def dashboard_fragment(request):
    return render(request, "_dashboard_live.html", **_dashboard_values(request))


async def stream(request: Request) -> Response:
    """Server-sent events for logged-in browsers: each committed event's kind and seq."""
    ctx = request.app.state.ctx
    session = ctx.sessions.get(request.cookies.get(COOKIE))
    if session is None or not session.logged_in:
        return Response(status_code=401)
    return StreamingResponse(ctx.live.stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _incident_values(request: Request, incident_id: int) -> dict | None:
    ctx = request.app.state.ctx
    found = queries.incident(ctx.store, incident_id)
    if found is None:
        return None
    roster = ctx.store.roster.load()
    session = request.state.session
    t = translator(session.lang)
    labels = {key: t(key) for key in ("called", "texted", "rung", "failed", "delivered",
                                       "acknowledged")}
    labels["title"] = t("timeline")
    contacts = _contacts(ctx)
    return {
        "incident": found,
        "timeline_svg": incident_timeline(found["opened_at"], found["events"], _name_of(roster),
                                          labels, session.lang),
        "lines": [(queries.when(e["at"]), describe(e, roster, session.lang, contacts))
                  for e in found["events"]],
        "contacts": contacts,
        "name_of": _name_of(roster), "group_name": _group_name(roster, found["group_id"]),
        "display": display, "when": queries.when, "siren_on": ctx.box.siren_is_on(),
        "done": request.query_params.get("done", ""),
    }


@page
def incident_page(request):
    values = _incident_values(request, request.path_params["incident_id"])
    if values is None:
        return render(request, "message.html", 404, message_key="not_found")
    return render(request, "incident.html", **values)


@page
def incident_fragment(request):
    values = _incident_values(request, request.path_params["incident_id"])
    if values is None:
        return Response(status_code=404)
    return render(request, "_incident_live.html", **values)


@page
def incident_action(request):
    incident_id = request.path_params["incident_id"]
    name = request.state.form.get("action", "")
    kind = INCIDENT_ACTIONS.get(name)
    if kind is None:
        return Response("unknown action", status_code=400)
    request.app.state.ctx.actions.put(office.OfficeAction(
        kind, "web", incident_id=incident_id if kind in (office.ACKNOWLEDGE, office.CANCEL)
        else None, user=USER))
    return RedirectResponse(f"/incidents/{incident_id}?done={name}", status_code=303)


@page
def siren_action(request):
    kind = office.SIREN_ON if request.state.form.get("action") == "siren_on" \
        else office.SIREN_OFF
    request.app.state.ctx.actions.put(office.OfficeAction(kind, "web", user=USER))
    return RedirectResponse("/", status_code=303)


@page
def drill_action(request):
    """Start a drill for one group: a marked test alarm, carried out by the alarm loop."""
    ctx = request.app.state.ctx
    roster = ctx.store.roster.load()
    group_id = request.state.form.get("group", "")
    if not any(g.id == group_id for g in roster.groups):
        return Response("unknown group", status_code=400)
    ctx.actions.put(office.OfficeAction(office.DRILL, "web", group_id=group_id, user=USER))
    return RedirectResponse("/", status_code=303)


ROUTES = [
    route("/", dashboard),
    route("/fragments/dashboard", dashboard_fragment),
    route("/stream", stream),
    route("/incidents/{incident_id:int}", incident_page),
    route("/fragments/incidents/{incident_id:int}", incident_fragment),
    route("/incidents/{incident_id:int}/action", incident_action, ["POST"]),
    route("/siren", siren_action, ["POST"]),
    route("/drill", drill_action, ["POST"]),
]


def _contacts(ctx) -> dict[str, str]:
    config = ctx.box.config
    return contacts_of(config.numbers_office, config.numbers_township)
