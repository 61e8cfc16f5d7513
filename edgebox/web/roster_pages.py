"""The roster pages: households and groups, edits, sheet import with a preview, export and
the printable group table (编组表) a leader pins on the wall.

Nothing is saved until it is whole and valid: an edit is checked on the full new roster, an
imported sheet is shown with every row-level problem (and nothing saved) or as a preview that
the officer confirms. Saving is ``store.roster.replace``; its ``roster_replaced`` event makes
the daemon load the new roster.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from edgebox.domain.phones import display
from edgebox.domain.roster import FLAG_LABELS_ZH, FLAG_WORDS
from edgebox.domain.roster_advice import roster_warnings
from edgebox.domain.sms_commands import PIN_DIGITS, pin_problem
from edgebox.errors import RosterError
from edgebox.i18n import Text
from edgebox.roster_io.csv_sheet import roster_to_csv_bytes
from edgebox.roster_io.sheet_import import read_sheet
from edgebox.web import roster_edit
from edgebox.web.i18n import translator
from edgebox.web.pages import page, render, route
from edgebox.web.passwords import scrypt_hash

PENDING_IMPORT = "pending_import"


def _roster_page(request, status: int = 200, problems: list[str] | None = None,
                 saved: bool = False):
    ctx = request.app.state.ctx
    return render(request, "roster.html", status, roster=ctx.store.roster.load(),
                  problems=problems or [], saved=saved or request.query_params.get("saved"),
                  display=display, flag_labels=FLAG_LABELS_ZH, flags=list(FLAG_WORDS),
                  quote=quote, own_pins=ctx.store.leader_pins.leaders())


@page
def roster_page(request):
    return _roster_page(request)


def _save(request, change) -> Response:
    """Apply ``change(roster)`` and save it, or show the roster with what is wrong."""
    ctx = request.app.state.ctx
    form = request.state.form
    try:
        new = change(ctx.store.roster.load(), form)
    except RosterError as exc:
        return _roster_page(request, 400, exc.problems)
    except KeyError as exc:
        # a form from a page since changed: a group or household no longer there
        return _roster_page(request, 400, [Text(
            "roster.gone", "{id} is no longer on the roster; reload the page", id=exc.args[0])])
    ctx.store.roster.replace(new, ctx.clock(), source="web")
    return RedirectResponse("/roster?saved=1", status_code=303)


def _flags(form) -> list[str]:
    return [flag for flag in form.getlist("flags") if flag in FLAG_WORDS]


@page
def set_leader_pin(request):
    """A leader's own PIN for administration by SMS, stored as a hash; an empty one clears it
    (the leader then uses the shared admin.leader_pin again)."""
    ctx = request.app.state.ctx
    household_id = request.path_params["household_id"]
    pin = request.state.form.get("pin", "").strip()
    if not any(g.leader_id == household_id for g in ctx.store.roster.load().groups):
        return _roster_page(request, 400, [translator(request.state.session.lang)(
            "pin_not_leader")])
    if pin and pin_problem(pin):
        low, high = PIN_DIGITS
        return _roster_page(request, 400, [translator(request.state.session.lang)(
            "pin_invalid", low=low, high=high)])
    ctx.store.leader_pins.set(ctx.clock(), household_id, scrypt_hash(pin) if pin else None)
    return RedirectResponse("/roster?saved=1", status_code=303)


@page
def add_household(request):
    region = request.app.state.ctx.settings.region
    return _save(request, lambda roster, f: roster_edit.add_household(
        roster, f.get("group", ""), f.get("name", ""), f.get("address", ""),
        f.get("phones", ""), _flags(f), region, f.get("guardians", ""), f.get("check_in", "")))


@page
def edit_household(request):
    region = request.app.state.ctx.settings.region
    household_id = request.path_params["household_id"]
    return _save(request, lambda roster, f: roster_edit.edit_household(
        roster, household_id, f.get("name", ""), f.get("address", ""), f.get("phones", ""),
        _flags(f), region, f.get("guardians"), f.get("check_in")))


@page
def move_household(request):
    household_id = request.path_params["household_id"]
    return _save(request, lambda roster, f: roster_edit.move_household(
        roster, household_id, f.get("group", "")))


@page
def remove_household(request):
    household_id = request.path_params["household_id"]
    return _save(request, lambda roster, f: roster_edit.remove_household(roster, household_id))


@page
def make_leader(request):
    household_id = request.path_params["household_id"]
    return _save(request, lambda roster, f: roster_edit.set_leader(
        roster, f.get("group", ""), household_id))


@page
def add_group(request):
    return _save(request, lambda roster, f: roster_edit.add_group(
        roster, f.get("name", ""), roster_edit.split_ids(f.get("households", ""))))


@page
def import_sheet(request):
    """Read an uploaded sheet and show what it holds, or every problem in it; save nothing."""
    ctx = request.app.state.ctx
    upload = request.state.form.get("sheet")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _roster_page(request, 400, [Text("roster.choose_file",
                                                "choose a CSV or .xlsx file")])
    content = upload.file.read()
    try:
        new = read_sheet(content, upload.filename, ctx.settings.region)
    except RosterError as exc:
        return render(request, "roster_import.html", 400, problems=exc.problems,
                      filename=upload.filename)
    token = secrets.token_urlsafe(12)
    request.state.session.data[PENDING_IMPORT] = (token, new, upload.filename)
    current = {h.id for h in ctx.store.roster.load().households}
    incoming = {h.id for h in new.households}
    return render(request, "roster_import.html", roster=new, token=token,
                  filename=upload.filename, added=len(incoming - current),
                  removed=len(current - incoming), display=display, flag_labels=FLAG_LABELS_ZH,
                  warnings=roster_warnings(new))


@page
def confirm_import(request):
    ctx = request.app.state.ctx
    pending = request.state.session.data.pop(PENDING_IMPORT, None)
    if pending is None or pending[0] != request.state.form.get("token"):
        return render(request, "message.html", 409, message_key="expired")
    _, new, filename = pending
    ctx.store.roster.replace(new, ctx.clock(), source=filename)
    return RedirectResponse("/roster?saved=1", status_code=303)


@page
def export_csv(request):
    ctx = request.app.state.ctx
    content = roster_to_csv_bytes(ctx.store.roster.load(), ctx.settings.region)
    return Response(content, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": "attachment; filename=roster.csv"})


@page
def group_table(request):
    roster = request.app.state.ctx.store.roster.load()
    try:
        group = roster.group(request.path_params["group_id"])
    except KeyError:
        return render(request, "message.html", 404, message_key="not_found")
    return _print_sheets(request, roster, [group])


@page
def all_group_tables(request):
    roster = request.app.state.ctx.store.roster.load()
    if not roster.groups:
        return render(request, "message.html", 404, message_key="not_found")
    return _print_sheets(request, roster, list(roster.groups))


def _print_sheets(request, roster, groups):
    """The paper a village pins on the wall, one A4 page per group, and a card per household:
    the number to dial (the modems' own numbers, [[modems]] number), the leader, the office
    and township, how to raise, acknowledge and cancel an alarm."""
    config = request.app.state.ctx.box.config
    sheets = [{"group": g, "members": roster.members(g.id),
               "leader": roster.household(g.leader_id)} for g in groups]
    return render(request, "group_table.html", sheets=sheets, display=display,
                  flag_labels=FLAG_LABELS_ZH, village=config.box_village,
                  box_numbers=[display(m.number) for m in config.modems if m.number],
                  office_numbers=[display(n) for n in config.numbers_office],
                  township_numbers=[display(n) for n in config.numbers_township],
                  today=datetime.now().astimezone().date().isoformat())


ROUTES = [
    route("/roster", roster_page),
    route("/roster/households", add_household, ["POST"]),
    route("/roster/households/{household_id}/edit", edit_household, ["POST"]),
    route("/roster/households/{household_id}/move", move_household, ["POST"]),
    route("/roster/households/{household_id}/remove", remove_household, ["POST"]),
    route("/roster/households/{household_id}/leader", make_leader, ["POST"]),
    route("/roster/households/{household_id}/pin", set_leader_pin, ["POST"]),
    route("/roster/groups", add_group, ["POST"]),
    route("/roster/import", import_sheet, ["POST"]),
    route("/roster/import/confirm", confirm_import, ["POST"]),
    route("/roster/export.csv", export_csv),
    route("/roster/groups/{group_id}/print", group_table),
    route("/roster/print", all_group_tables),
]
