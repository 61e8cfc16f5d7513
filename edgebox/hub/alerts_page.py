"""The county's alerts page (告警): recent alerts with who acknowledged them (a township or
county user may acknowledge one here, audited, as a duty officer's SMS reply does), the duty
officers per township (added and removed here or with ``edgebox hub duty``), the texts refused as
reports and why, and each box's reports that came by SMS (短信上报).

Kept apart from the dashboard's own pages; it reuses their session, CSRF and form helpers.
Each user sees the alerts of the boxes in their scope (``alerts.recent`` through
``reports.Filters.where``, as every query); duty officers are the county's and a township's own to
change (and audited), and texts refused as reports, which name no box one may trust, are the
county's alone.
"""
from __future__ import annotations

from datetime import datetime, timezone

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from edgebox.errors import EdgeboxError
from edgebox.hub import alerts, audit, duty, reports
from edgebox.hub.dashboard import (client_address, lang_of, not_found, render, signed_in,
                                   signed_in_form, words)
from edgebox.hub.sms_ingest import refused, reports_of
from edgebox.hub.sms_report_words import page_words, report_words



async def _page(request: Request, session: dict, error: str = "") -> Response:
    db, scope, lang = request.app.state.db, session["scope"], lang_of(request)
    rows = await run_in_threadpool(alerts.recent, db, scope)
    for row in rows:  # the officer's SMS words, in the page's language
        row["words"] = alerts.text(lang, row["kind"], **alerts.words_of(lang, row))
    officers = [o for o in await run_in_threadpool(duty.list_officers, db)
                if _may_change_duty(scope, o["township"])]
    refused_texts = await run_in_threadpool(refused, db) if scope.is_county else []
    response = render(request, "alerts.html", session=session, alerts=rows,
                      officers=officers, error=error, refused=refused_texts,
                      may_ack=scope.role in alerts.ACK_ROLES)
    if error:
        response.status_code = 400
    return response


def _may_change_duty(scope, township: str) -> bool:
    return scope.is_county or (scope.role == "township" and township == scope.township)


@signed_in
async def alerts_page(request: Request, session: dict) -> Response:
    return await _page(request, session)


@signed_in_form
async def duty_change(request: Request, session: dict, form) -> Response:
    db = request.app.state.db
    township, phone = form.get("township", ""), form.get("phone", "").strip()
    if not _may_change_duty(session["scope"], township):
        return not_found(request)
    removing = form.get("action") == "remove"
    try:
        if removing:
            await run_in_threadpool(duty.remove_officer, db, township, phone)
        else:
            await run_in_threadpool(duty.add_officer, db, township, phone,
                                    form.get("name", ""))
    except EdgeboxError as exc:  # a bad number: said on the page, nothing changed
        return await _page(request, session, str(exc))
    await run_in_threadpool(audit.record, db, session["user"],
                            "duty_removed" if removing else "duty_added",
                            f"{township} {phone}", client_address(request))
    return RedirectResponse("/alerts", status_code=303)


@signed_in_form
async def acknowledge(request: Request, session: dict, form) -> Response:
    """An officer acknowledges an alert on the page (as a duty officer's SMS reply does)."""
    done = await run_in_threadpool(alerts.acknowledge_as_user, request.app.state.db,
                                   session["scope"], request.path_params["alert_id"],
                                   session["user"], datetime.now(timezone.utc),
                                   client_address(request))
    if done is None:
        return not_found(request)
    if done == "refused":
        return PlainTextResponse(words(request)("hub_ack_refused"), status_code=403)
    return RedirectResponse("/alerts", status_code=303)


@signed_in
async def sms_reports_page(request: Request, session: dict) -> Response:
    box = request.path_params["box_id"]
    visible = await run_in_threadpool(reports.boxes, request.app.state.db,
                                      reports.Filters(box_id=box, scope=session["scope"]))
    if not visible:
        return not_found(request)
    rows = await run_in_threadpool(reports_of, request.app.state.db, box)
    lang = lang_of(request)
    for row in rows:  # each report told in the page's language
        row["words"] = report_words(lang, row)
    return render(request, "sms_reports.html", session=session, box=box, reports=rows,
                  s=page_words(lang))


ROUTES = [
    Route("/alerts", alerts_page),
    Route("/alerts/duty", duty_change, methods=["POST"]),
    Route("/alerts/{alert_id:int}/ack", acknowledge, methods=["POST"]),
    Route("/boxes/{box_id}/sms", sms_reports_page),
]
