"""The village loudspeaker on the web panel: what it is doing now, and a "speak this text now"
box for the office.

The state is the one the daemon writes beside the database (edgebox.speaker.status), read on
every visit and refreshed by htmx every two seconds. The text becomes a SPEAK OfficeAction kept
in the store like every other office action; the daemon logs it and the loudspeaker, a listener
of the log, reads it out (behind any alarm, which always goes first).
"""
from __future__ import annotations

import time

from starlette.responses import RedirectResponse

from edgebox.domain import office_actions as office
from edgebox.speaker.status import read_status, status_path
from edgebox.web.login_pages import USER
from edgebox.web.pages import page, render, route

MAX_LENGTH = 300  # a spoken notice longer than a minute is not heard to its end in a field
STALE_SECONDS = 30  # no change written for this long and the relay on: the daemon stopped


def _state(request) -> dict | None:
    config = request.app.state.ctx.box.config
    if not config.speaker_enabled:
        return None
    state = read_status(status_path(config.box_database))
    if state is not None:
        state["stale"] = time.time() - state.get("written_at", 0) > STALE_SECONDS \
            and bool(state.get("relay_on") or state.get("playing"))
    return state or {}


def _page(request, status: int = 200, **values):
    return render(request, "speaker.html", status, state=_state(request),
                  said=request.query_params.get("said"), max_length=MAX_LENGTH,
                  **{"text": "", "problem": "", **values})


@page
def speaker_page(request):
    return _page(request)


@page
def speaker_fragment(request):
    return render(request, "_speaker_state.html", state=_state(request))


@page
def say(request):
    text = request.state.form.get("text", "").strip()
    if not request.app.state.ctx.box.config.speaker_enabled:
        return _page(request, 409, text=text, problem="speaker_off")
    if not text or len(text) > MAX_LENGTH:
        return _page(request, 400, text=text, problem="speak_length")
    request.app.state.ctx.actions.put(office.OfficeAction(office.SPEAK, "web", text=text,
                                                          user=USER))
    return RedirectResponse("/speaker?said=1", status_code=303)


ROUTES = [
    route("/speaker", speaker_page),
    route("/speaker", say, ["POST"]),
    route("/fragments/speaker", speaker_fragment),
]
