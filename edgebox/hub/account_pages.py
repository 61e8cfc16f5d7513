"""What only the county manages: the hub's accounts (every user with role and scope, a form to
add one or give an existing one a new password and role, a button to remove one) and the boxes
(register one: its token is shown once, to be put in the box's uplink.token). Others get "not
found"; every change goes to the audit log with who made it and from where."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from edgebox.hub import accounts, registry
from edgebox.hub.errors import RegistryError
from edgebox.hub.dashboard import client_address, render, signed_in, signed_in_form, words


async def _accounts(request: Request, session: dict, error: str = "",
                    status: int = 200) -> Response:
    users = await run_in_threadpool(accounts.list_users, request.app.state.db)
    response = render(request, "accounts.html", session=session, users=users, error=error)
    response.status_code = status
    return response


@signed_in(county_only=True)
async def accounts_page(request: Request, session: dict) -> Response:
    return await _accounts(request, session)


@signed_in_form(county_only=True)
async def change_account(request: Request, session: dict, form) -> Response:
    """POST /accounts: ``action`` add (name, password, role, township, box) or remove (name)."""
    field = {name: str(form.get(name, "")) for name in ("action", "name", "password", "role",
                                                       "township", "box_id")}
    db, actor, address = request.app.state.db, session["user"], client_address(request)
    try:
        if field["action"] == "remove":
            if field["name"].strip() == actor:
                return await _accounts(request, session, words(request)("hub_not_yourself"), 400)
            await run_in_threadpool(accounts.remove_user, db, field["name"], actor, address)
        else:
            await run_in_threadpool(accounts.add_user, db, field["name"], field["password"],
                                    form.get("replace") == "1", field["role"] or "county",
                                    field["township"], field["box_id"], actor, address)
    except RegistryError as exc:  # a clear reason, in the page's words; nothing changed
        return await _accounts(request, session, words(request)(exc.words or "hub_account_refused",
                                              **exc.fields), 400)
    return RedirectResponse("/accounts", status_code=303)


@signed_in_form(county_only=True)
async def register_box(request: Request, session: dict, form) -> Response:
    """POST /boxes: register a box (box_id, county, township, village); the page that shows
    its new token once."""
    place = {name: str(form.get(name, "")).strip() for name in ("box_id", "county", "township",
                                                                "village")}
    try:
        token = await run_in_threadpool(registry.add_box, request.app.state.db,
                                        place["box_id"], place["county"], place["township"],
                                        place["village"], None, False, session["user"],
                                        client_address(request))
    except RegistryError as exc:
        return PlainTextResponse(words(request)(exc.words or "hub_account_refused", **exc.fields),
                                 status_code=400)
    response = render(request, "box_added.html", session=session, token=token, **place)
    response.headers["Cache-Control"] = "no-store"  # the token is shown once, never cached
    return response
