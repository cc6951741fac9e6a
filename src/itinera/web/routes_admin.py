"""The admin pages: users (create, set role, disable or enable, reset password) and API keys
(create with a scope, revoke). Only admins see or use them (``ui_admin``, ``AdminForm``).

A key made here is shown once, in the answer to the form that made it (never in an address);
a password is typed in a form and kept only as its hash. Each change is in the audit log, with
the admin who made it (``storage.team``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from itinera.api.auth import actor_of
from itinera.api.context import Ctx
from itinera.storage import keys, team, users
from itinera.storage.keys import SCOPES
from itinera.storage.users import ROLES
from itinera.web.auth import AdminForm, UiUser, ui_admin
from itinera.web.pages import render

__all__ = ["router"]

router = APIRouter(prefix="/ui/admin", include_in_schema=False)
Admin = Annotated[UiUser, Depends(ui_admin)]
Text = Annotated[str, Form(max_length=1024)]


def _users_page(request: Request, context: Ctx, user: UiUser, status_code: int = 200,
                done: str | None = None, error: str | None = None) -> Response:
    with context.read() as connection:
        listed = users.users(connection)
    return render(request, "admin_users.html", user, status_code=status_code, section="admin",
                  users=listed, roles=ROLES, done=done, error=error)


@router.get("/users")
def users_page(request: Request, context: Ctx, user: Admin, done: str | None = None) -> Response:
    return _users_page(request, context, user, done=done)


def _done(what: str) -> RedirectResponse:
    return RedirectResponse(f"/ui/admin/users?done={what}", status_code=303)


@router.post("/users")
def create_user(request: Request, context: Ctx, user: AdminForm, name: Text = "",
                role: Text = "viewer", password: Text = "") -> Response:
    try:
        with context.write() as connection:
            made = team.create_user(connection, actor_of(request), name, password, role,
                                    context.now())
    except users.UserError as error:
        return _users_page(request, context, user, 422, error=str(error))
    return _done(f"created:{made.name}")


@router.post("/users/{name}/role")
def set_role(request: Request, context: Ctx, user: AdminForm, name: str,
             role: Text = "") -> Response:
    try:
        with context.write() as connection:
            found = team.set_role(connection, actor_of(request), name, role, context.now())
    except users.UserError as error:
        return _users_page(request, context, user, 422, error=str(error))
    return _users_page(request, context, user, 404, error=f"no user {name!r}") \
        if found is None else _done(f"role:{found.name}")


def _disabling(disabled: bool) -> None:
    word = "disable" if disabled else "enable"

    def endpoint(request: Request, context: Ctx, user: AdminForm, name: str) -> Response:
        with context.write() as connection:
            found = team.set_disabled(connection, actor_of(request), name, disabled,
                                      context.now())
        if found is None:
            return _users_page(request, context, user, 404, error=f"no user {name!r}")
        return _done(f"{word}d:{found.name}")

    router.add_api_route(f"/users/{{name}}/{word}", endpoint, methods=["POST"], name=word)


_disabling(True)
_disabling(False)


@router.post("/users/{name}/password")
def reset_password(request: Request, context: Ctx, user: AdminForm, name: str,
                   password: Text = "") -> Response:
    try:
        with context.write() as connection:
            found = team.reset_password(connection, actor_of(request), name, password,
                                        context.now())
    except users.UserError as error:
        return _users_page(request, context, user, 422, error=str(error))
    return _users_page(request, context, user, 404, error=f"no user {name!r}") \
        if found is None else _done(f"password:{found.name}")


def _keys_page(request: Request, context: Ctx, user: UiUser, status_code: int = 200,
               made: tuple[str, str] | None = None, done: str | None = None,
               error: str | None = None) -> Response:
    with context.read() as connection:
        listed = keys.api_keys(connection)
    page = render(request, "admin_keys.html", user, status_code=status_code, section="admin",
                  keys=listed, scopes=SCOPES, made=made, done=done, error=error)
    page.headers["Cache-Control"] = "no-store"  # it may show a new key, once
    return page


@router.get("/keys")
def keys_page(request: Request, context: Ctx, user: Admin, done: str | None = None) -> Response:
    return _keys_page(request, context, user, done=done)


@router.post("/keys")
def create_key(request: Request, context: Ctx, user: AdminForm, name: Text = "",
               scope: Text = "read", rate_limit: Text = "") -> Response:
    try:
        rate = float(rate_limit) if rate_limit.strip() else None
        if not name.strip():
            raise ValueError("name the key: who or what it is for")
        with context.write() as connection:
            id, key = team.create_key(connection, actor_of(request), name.strip()[:200], scope,
                                      context.now(), rate)
    except ValueError as error:
        return _keys_page(request, context, user, 422, error=str(error))
    return _keys_page(request, context, user, 201, made=(id, key))


@router.post("/keys/{key_id}/revoke")
def revoke_key(request: Request, context: Ctx, user: AdminForm, key_id: str) -> Response:
    with context.write() as connection:
        revoked = team.revoke_key(connection, actor_of(request), key_id, context.now())
    if not revoked:
        return _keys_page(request, context, user, 404, error=f"no active key {key_id!r}")
    return RedirectResponse(f"/ui/admin/keys?done=revoked:{key_id}", status_code=303)
