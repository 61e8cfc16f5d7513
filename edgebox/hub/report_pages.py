"""A box's own page (with the village's registered household count, which the village account
or the county enters) and the printable monthly report (A4, ``@media print``)."""
from __future__ import annotations

from datetime import datetime, timezone

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from edgebox.domain.alarm import alarm_label
from edgebox.hub import charts, reports
from edgebox.hub.dashboard import (client_address, lang_of, not_found, render, signed_in,
                                   signed_in_form, words)
from edgebox.hub.errors import RegistryError
from edgebox.hub.monthly import monthly_report, set_households_registered


@signed_in
async def box_page(request: Request, session: dict) -> Response:
    scope = session["scope"]
    filters = reports.Filters(box_id=request.path_params["box_id"], scope=scope)
    found = await run_in_threadpool(reports.boxes, request.app.state.db, filters,
                                    request.app.state.stale_hours)
    if not found:
        return not_found(request)
    return render(request, "box.html", session=session, box=found[0],
                  may_edit=scope.role in ("county", "village"))


@signed_in_form
async def set_households(request: Request, session: dict, form) -> Response:
    box_id = request.path_params["box_id"]
    try:
        count = int(str(form.get("households_registered", "")).strip())
        changed = await run_in_threadpool(set_households_registered, request.app.state.db,
                                          session["scope"], box_id, count, session["user"],
                                          client_address(request))
    except (ValueError, RegistryError):
        return PlainTextResponse(words(request)("hub_bad_count"), status_code=400)
    if not changed:
        return not_found(request)
    return RedirectResponse(f"/boxes/{box_id}", status_code=303)


def _last_month() -> str:
    today = datetime.now(timezone.utc)
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{year:04d}-{month:02d}"


@signed_in
async def report_page(request: Request, session: dict) -> Response:
    """The monthly report: the county's (a county user), a township's (?township=, or a
    township officer's own), a village account's its own."""
    month = request.query_params.get("month") or _last_month()
    township = (request.query_params.get("township") or "").strip()[:100]
    if not township and session["scope"].role == "township":
        township = session["scope"].township  # an officer's report is their township's
    try:
        report = await run_in_threadpool(monthly_report, request.app.state.db,
                                         session["scope"], month, township)
    except RegistryError:
        return PlainTextResponse(words(request)("hub_bad_month"), status_code=400)
    if township and not report["villages"]:
        return not_found(request)  # another township's: as if there were no such township
    t, lang = words(request), lang_of(request)
    names = [v["village"] for v in report["villages"]]
    wide = max(320, 70 * len(names) + 60)
    kinds_chart = charts.bar_chart(
        t("hub_alarms_by_type"), [alarm_label(k, lang) for k in report["kinds"]],
        list(report["totals"]["kinds"].values()), width=max(320, 70 * len(report["kinds"]) + 60))
    ack_chart = charts.bar_chart(
        t("hub_ack_chart"), names, [v["median_ack"] or 0 for v in report["villages"]],
        width=wide, colour="#2980b9", unit=t("hub_minute_unit"))
    coverage_chart = charts.bar_chart(
        t("hub_coverage_chart"), names, [v["coverage"] or 0 for v in report["villages"]],
        width=wide, colour="#186a3b", unit="%")
    return render(request, "report.html", session=session, report=report,
                  kinds_chart=kinds_chart, ack_chart=ack_chart, coverage_chart=coverage_chart,
                  made_at=datetime.now(timezone.utc).isoformat())
