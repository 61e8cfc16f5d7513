"""The county's alerts page (告警): recent alerts with who acknowledged them, the duty officers
per township (added and removed here or with ``edgebox hub duty``), the texts refused as
reports and why, and each box's reports that came by SMS (短信上报).

Kept apart from the dashboard's own pages; it reuses their session, CSRF and form helpers.
"""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from edgebox.domain.alarm import alarm_label
from edgebox.errors import EdgeboxError
from edgebox.hub import accounts, alerts, duty
from edgebox.hub.dashboard import _render, _session, _small_form, _to_login, _too_large
from edgebox.hub.sms_ingest import refused, reports_of

# The alert kinds and health words in the page's words (Chinese first).
KIND_WORDS = {"silent": "失联", "modem_fault": "模块故障", "low_balance": "余额不足",
              "township": "升级到乡镇", "drill_overdue": "演练逾期"}


async def _page(request: Request, session: dict, error: str = "") -> Response:
    db = request.app.state.db
    rows = await run_in_threadpool(alerts.recent, db)
    for row in rows:
        row["words"] = alerts.text("zh", row["kind"], **alerts.words_of("zh", row))
    officers = await run_in_threadpool(duty.list_officers, db)
    refused_texts = await run_in_threadpool(refused, db)
    response = _render(request, "alerts.html", session=session, alerts=rows,
                       officers=officers, kinds=KIND_WORDS, error=error, refused=refused_texts)
    if error:
        response.status_code = 400
    return response


async def alerts_page(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_login(request)
    return await _page(request, session)


async def duty_change(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_login(request)
    form = await _small_form(request)
    if form is None:
        return _too_large()
    if not accounts.same_token(form.get("csrf"), session["csrf"]):
        return Response("CSRF check failed", status_code=403)
    db = request.app.state.db
    township, phone = form.get("township", ""), form.get("phone", "").strip()
    try:
        if form.get("action") == "remove":
            await run_in_threadpool(duty.remove_officer, db, township, phone)
        else:
            await run_in_threadpool(duty.add_officer, db, township, phone,
                                    form.get("name", ""))
    except EdgeboxError as exc:  # a bad number: said on the page, nothing changed
        return await _page(request, session, str(exc))
    return RedirectResponse("/alerts", status_code=303)


async def sms_reports_page(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_login(request)
    box = request.path_params["box_id"]
    rows = await run_in_threadpool(reports_of, request.app.state.db, box)
    return _render(request, "sms_reports.html", session=session, box=box, reports=rows,
                   label=lambda kind: alarm_label(kind, "zh"))


ROUTES = [
    Route("/alerts", alerts_page),
    Route("/alerts/duty", duty_change, methods=["POST"]),
    Route("/boxes/{box_id}/sms", sms_reports_page),
]
