"""Broadcast: a notice to the whole village or one group, its cost shown before it is sent.

The count is the network's: ``count_segments`` says how many SMS parts the message takes as
it will go out (the box's broadcast template around the officer's words; UCS-2 for Chinese: 70
characters, 67 per part once split), times every phone of every household in the target.
Sending hands a BROADCAST OfficeAction to the daemon's office desk; the progress list reads the
``broadcasts`` table the alarm loop fills.
"""
from __future__ import annotations

from starlette.responses import RedirectResponse

from edgebox.domain import office_actions as office
from edgebox.domain.messages import count_segments, render as render_message
from edgebox.readmodels import queries
from edgebox.web.login_pages import USER
from edgebox.web.pages import page, render, route

MAX_LENGTH = 670  # ten parts of Chinese; longer notices belong on the notice board


def cost(roster, group_id: str | None, text: str, language: str) -> dict:
    households = roster.members(group_id) if group_id else list(roster.households)
    phones = len({p for h in households for p in h.phones})
    segments = count_segments(render_message(language, "broadcast", text=text)) if text else None
    parts = segments.parts if segments else 0
    return {"households": len(households), "phones": phones, "parts": parts,
            "units": segments.units if segments else 0,
            "encoding": segments.encoding if segments else "", "total": parts * phones}


def _target(roster, value: str) -> str | None:
    return value if value and any(g.id == value for g in roster.groups) else None


@page
def broadcast_page(request):
    ctx = request.app.state.ctx
    return render(request, "broadcast.html", roster=ctx.store.roster.load(),
                  broadcasts=queries.broadcasts(ctx.store), sent=request.query_params.get("sent"),
                  cost=None, text="", target="", problem="")


@page
def preview(request):
    ctx = request.app.state.ctx
    form = request.state.form
    roster = ctx.store.roster.load()
    text = form.get("text", "").strip()
    return render(request, "_broadcast_cost.html",
                  cost=cost(roster, _target(roster, form.get("target", "")), text,
                            ctx.settings.language))


@page
def progress(request):
    return render(request, "_broadcast_progress.html",
                  broadcasts=queries.broadcasts(request.app.state.ctx.store))


@page
def send(request):
    ctx = request.app.state.ctx
    form = request.state.form
    roster = ctx.store.roster.load()
    text = form.get("text", "").strip()
    target = _target(roster, form.get("target", ""))
    if not text or len(text) > MAX_LENGTH:
        return render(request, "broadcast.html", 400, roster=roster,
                      broadcasts=queries.broadcasts(ctx.store), sent=None,
                      cost=cost(roster, target, text, ctx.settings.language), text=text, target=target or "",
                      problem="empty_message")
    ctx.actions.put(office.OfficeAction(office.BROADCAST, "web", text=text, group_id=target,
                                        user=USER))
    return RedirectResponse("/broadcast?sent=1", status_code=303)


ROUTES = [
    route("/broadcast", broadcast_page),
    route("/broadcast", send, ["POST"]),
    route("/broadcast/preview", preview, ["POST"]),
    route("/fragments/broadcasts", progress),
]
