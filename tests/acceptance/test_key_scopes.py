"""Roles and scoped API keys (issue 13): every route of the API and the UI declares the
permission it needs, and every role of user and every scope of key gets through exactly where
``api.auth.PERMISSIONS`` says, else 403 naming the role and the scope needed.

The table tests walk ``app.routes``: a route added without a declared permission (and not in
``PUBLIC``) makes them fail, and a new route is called by every role and scope at once, so no
route can be forgotten.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from api_support import WORKSPACE, Api, open_api
from fastapi import FastAPI, routing
from fastapi.testclient import TestClient
from starlette.routing import Mount
from users_support import make_user, session_headers, signed_in_as

from itinera.api.auth import (
    COOKIE,
    CSRF_HEADER,
    GRANTS,
    PERMISSIONS,
    ROLE_GRANTS,
    csrf_token,
    route_scopes,
)
from itinera.storage import keys, migrate, users
from itinera.storage.engine import create_engine

# Routes anyone may call: the health check, the unsubscribe links of emails, the UI's sign-in,
# sign-out, redirects to it, its static files and icon.
PUBLIC = {("GET", "/health"), ("GET", "/unsubscribe"), ("POST", "/unsubscribe"), ("GET", "/"),
          ("GET", "/ui"), ("GET", "/ui/"), ("GET", "/ui/login"), ("POST", "/ui/login"),
          ("POST", "/ui/sign-in"), ("POST", "/ui/logout"), ("MOUNT", "/ui/static"), ("GET", "/favicon.ico"),
          ("GET", "/t/c/{token}"), ("GET", "/t/o/{token}")}  # emails' tracked links and pixel


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def _routes(app: FastAPI) -> list[tuple[str, str, set[str]]]:
    """(method, path, the scopes it declares) for every route of ``app``, included routers'
    routes with their prefixes and dependencies (as the OpenAPI description walks them)."""
    found: list[tuple[str, str, set[str]]] = []
    for route in routing.iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            found.append(("MOUNT", str(route.path), set()))
            continue
        dependant = getattr(route, "dependant", None)
        scopes = route_scopes(dependant) if dependant is not None else set()
        found += [(m, str(route.path), scopes) for m in sorted(route.methods or {"?"})]
    return found


def _undeclared(app: FastAPI) -> list[str]:
    return [f"{method} {path}" for method, path, scopes in _routes(app)
            if not scopes and (method, path) not in PUBLIC]


def test_every_route_declares_a_scope(api: Api) -> None:
    app = api.client.app
    assert isinstance(app, FastAPI)
    assert _undeclared(app) == []
    declared = {(m, p) for m, p, scopes in _routes(app) if scopes}
    assert len(declared) > 30 and not declared & PUBLIC  # public routes really are public


def test_a_route_without_a_scope_is_caught(database_url: str) -> None:
    with open_api(database_url) as api:
        app = api.client.app
        assert isinstance(app, FastAPI)

        @app.get("/api/forgotten")
        def forgotten() -> dict[str, str]:
            return {}

        assert _undeclared(app) == ["GET /api/forgotten"]


def _request(client: TestClient, method: str, path: str, headers: dict[str, str],
             data: dict[str, str] | None) -> Any:
    url = re.sub(r"\{[^}]+\}", "1", path)
    if method == "GET":
        return client.get(url, headers=headers, follow_redirects=False)
    if data is not None:
        return client.request(method, url, data=data, headers=headers, follow_redirects=False)
    return client.request(method, url, json={}, headers=headers, follow_redirects=False)


def _names_what_it_needs(said: str, missing: set[str]) -> bool:
    """A denial names, for some permission missing, the narrowest role and scope holding it."""
    return any(f"the role '{PERMISSIONS[p].roles[0]}'" in said
               and f"the scope '{PERMISSIONS[p].scopes[0]}'" in said for p in missing)


def test_every_route_answers_every_role_and_scope_as_declared(api: Api) -> None:
    """Every API route and every UI action, called by a user of each role (with their session,
    as the studio's pages call the API) and by a key of each scope: allowed exactly when the
    permission table says so, else 403 naming the role and the scope needed."""
    app = api.client.app
    assert isinstance(app, FastAPI)
    client = TestClient(app)
    now = datetime.now(UTC)
    # (who, what they hold, the key for the API or None, their key's or user's id)
    callers: list[tuple[str, frozenset[str], str | None, str]] = []
    with api.service.intake.engine.begin() as connection:
        for scope in GRANTS:
            id, key = keys.create_api_key(connection, f"as-{scope}", now, scope)
            callers.append((f"a key of scope {scope}", GRANTS[scope], key, id))
    for role in ROLE_GRANTS:
        user = make_user(api, f"as-{role}", role)
        callers.append((f"a user of role {role}", ROLE_GRANTS[role], None, user.id))
    checked = 0
    for method, path, needed in _routes(app):
        if not needed:
            continue
        ui = path.startswith("/ui")
        for who, holds, key, id in callers:
            client.cookies.clear()
            data = None
            if key is not None and not ui:
                headers = {"Authorization": f"Bearer {key}"}
            else:  # a session of its own (a route may sign out everywhere)
                with api.service.intake.engine.begin() as connection:
                    session = (keys.create_session(connection, id, now) if key is not None
                               else users.create_user_session(connection, id, now))
                client.cookies.set(COOKIE, session)
                headers = {} if ui or method == "GET" else {CSRF_HEADER: csrf_token(session)}
                data = {"csrf": csrf_token(session)} if ui and method != "GET" else None
            response = _request(client, method, path, headers, data)
            where = f"{method} {path} by {who}"
            if needed <= holds:
                assert response.status_code not in (401, 403), (where, response.text)
            else:
                assert response.status_code == 403, (where, response.text)
                # The API answers a problem document; a UI page, an error page saying it.
                said = html.unescape(response.text) if ui else response.json()["detail"]
                assert response.headers["content-type"].startswith(
                    "text/html" if ui else "application/problem+json"), where
                assert _names_what_it_needs(said, needed - holds), (where, said)
            checked += 1
        # Without a key: 401 from the API, the login page from the UI.
        client.cookies.clear()
        anonymous = _request(client, method, path, {}, {} if ui and method != "GET" else None)
        assert anonymous.status_code == (303 if ui else 401), (method, path, anonymous.text)
    assert checked > 250


def test_the_api_with_a_session_needs_the_form_token_to_write(api: Api) -> None:
    make_user(api, "ed", "editor")
    browser = signed_in_as(api, "ed")
    assert browser.get("/api/journeys").status_code == 200  # reads: the cookie is enough
    task = "/api/tasks/1/complete"
    refused = browser.post(task, json={})
    assert refused.status_code == 403 and CSRF_HEADER in refused.json()["detail"]
    wrong = browser.post(task, json={}, headers={CSRF_HEADER: "0" * 40})
    assert wrong.status_code == 403
    assert browser.post(task, json={}, headers=session_headers(browser)).status_code == 404
    # Signed out, the same cookie is nobody.
    token = browser.cookies[COOKIE]
    assert browser.post("/ui/logout", follow_redirects=False).status_code == 303
    replay = TestClient(api.client.app, cookies={COOKIE: token})
    assert replay.get("/api/journeys").status_code == 401


def test_a_denied_action_names_the_role_it_needs(api: Api) -> None:
    make_user(api, "vi", "viewer")
    make_user(api, "ed", "editor")
    viewer, editor = signed_in_as(api, "vi"), signed_in_as(api, "ed")
    denied = viewer.post("/api/journeys/validate", json={}, headers=session_headers(viewer))
    assert denied.status_code == 403
    assert denied.json()["detail"] == ("this needs the role 'editor' (or 'approver', 'admin') "
                                       "(a key: the scope 'write' (or 'admin')); your role is "
                                       "'viewer'")
    denied = editor.post("/api/journeys/onboarding/enable", headers=session_headers(editor))
    assert "the role 'approver' (or 'admin')" in denied.json()["detail"]
    assert "your role is 'editor'" in denied.json()["detail"]
    page = editor.post("/ui/journeys/onboarding/pause",
                       data={"csrf": csrf_token(editor.cookies[COOKIE])})
    assert page.status_code == 403 and "the role 'approver'" in html.unescape(page.text)
    # Changing a role takes effect at the next request.
    with api.service.intake.engine.begin() as connection:
        users.set_role(connection, "ed", "approver")
    allowed = editor.post("/api/journeys/onboarding/enable", headers=session_headers(editor))
    assert allowed.status_code == 404  # allowed: there is no such journey


def test_an_ingest_key_tracks_and_nothing_else(api: Api) -> None:
    _, key = api.new_key("website", "ingest")
    bearer = {"Authorization": f"Bearer {key}"}
    track = {"type": "track", "event": "trial.started", "userId": "ada",
             "context": {"groupId": "acme"}, "messageId": "m1"}
    assert api.client.post("/v1/track", json=track, headers=bearer).status_code == 200
    batch = {"batch": [{**track, "messageId": "m2"}]}
    assert api.client.post("/v1/batch", json=batch, headers=bearer).status_code == 200
    assert api.client.post("/api/events", headers=bearer, json=[
        {"type": "trial.started", "account": "acme", "at": "2026-01-05T09:00:00Z"}],
    ).status_code == 202

    for method, path, body, needed in [
            ("GET", "/api/journeys", None, "read"),
            ("GET", "/openapi.json", None, "read"),
            ("POST", "/api/journeys/onboarding/enable", None, "write"),
            ("POST", "/api/journeys/onboarding/disable", None, "write"),
            ("POST", "/api/journeys/validate", {}, "write"),
            ("POST", "/api/inputs", [{"configure": WORKSPACE}], "write")]:
        response = api.client.request(method, path, json=body, headers=bearer)
        assert response.status_code == 403, (path, response.text)
        assert f"the scope '{needed}'" in response.json()["detail"]
        assert "this key's scope is 'ingest'" in response.json()["detail"]
    # Every other route of the API, as the route table has them.
    app = api.client.app
    assert isinstance(app, FastAPI)
    others = [(m, p) for m, p, needed in _routes(app)
              if needed and needed != {"ingest"} and not p.startswith("/ui")]
    assert len(others) > 20
    for method, path in others:
        response = _request(api.client, method, path, bearer, None)
        assert response.status_code == 403, (method, path, response.text)
    # And it cannot sign in to the UI.
    login = TestClient(api.client.app).post("/ui/login", data={"key": key}, follow_redirects=False)
    assert login.status_code == 403 and "set-cookie" not in login.headers


def test_workspace_settings_need_an_admin_key(api: Api) -> None:
    _, writer = api.new_key("editor", "write")
    configure = [{"configure": WORKSPACE}]
    denied = api.client.post("/api/inputs", json=configure,
                             headers={"Authorization": f"Bearer {writer}"})
    assert denied.status_code == 403 and "the scope 'admin'" in denied.json()["detail"]
    assert api.post("/api/inputs", configure).status_code == 200  # the fixture's key: admin


def test_keys_made_before_scopes_are_admins_after_the_upgrade(database_url: str) -> None:
    migrate.upgrade(database_url, "0003")
    key = "itk_0123456789ab_old-secret"
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO api_keys (id, name, secret_hash, created_at) VALUES "
                f"('0123456789ab', 'old', '{keys.hash_key(key)}', '2026-01-05 09:00:00+00:00')")
    finally:
        engine.dispose()
    with open_api(database_url) as api:  # the service migrates the store to the head
        assert migrate.current(database_url) == migrate.head()
        with api.service.intake.engine.connect() as connection:
            [old] = [k for k in keys.api_keys(connection) if k.name == "old"]
        assert old.scope == "admin"
        response = api.client.post("/api/inputs?wait=true", json=[{"configure": WORKSPACE}],
                                   headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text


def test_a_store_of_the_previous_release_keeps_its_keys_and_gains_users(
        database_url: str) -> None:
    """From 0004 (scoped keys, key sessions) to the head (users): keys keep their scopes and
    work; a browser signed in before signs in again; users can be made and sign in."""
    migrate.upgrade(database_url, "0004")
    old_admin, old_reader = "itk_0123456789ab_old-secret", "itk_0123456789cd_reader-secret"
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            for id, name, scope, key in [("0123456789ab", "old", "admin", old_admin),
                                         ("0123456789cd", "reader", "read", old_reader)]:
                connection.exec_driver_sql(
                    "INSERT INTO api_keys (id, name, secret_hash, created_at, scope) VALUES "
                    f"('{id}', '{name}', '{keys.hash_key(key)}', '2026-01-05 09:00:00+00:00', "
                    f"'{scope}')")
            connection.exec_driver_sql(
                "INSERT INTO sessions (id, key_id, created_at, expires_at) VALUES ("
                f"'{keys.hash_key('old-token')}', '0123456789ab', '2026-01-05 09:00:00+00:00', "
                "'2999-01-05 09:00:00+00:00')")
    finally:
        engine.dispose()
    with open_api(database_url) as api:
        assert migrate.current(database_url) == migrate.head()
        assert migrate.check(database_url) == []
        with api.service.intake.engine.connect() as connection:
            scopes = {k.name: k.scope for k in keys.api_keys(connection)}
        assert scopes["old"] == "admin" and scopes["reader"] == "read"
        admin = api.client.post("/api/inputs?wait=true", json=[{"configure": WORKSPACE}],
                                headers={"Authorization": f"Bearer {old_admin}"})
        assert admin.status_code == 200, admin.text
        reader = {"Authorization": f"Bearer {old_reader}"}
        assert api.client.get("/api/journeys", headers=reader).status_code == 200
        assert api.client.post("/api/journeys/x/enable", headers=reader).status_code == 403
        stale = TestClient(api.client.app, cookies={COOKIE: "old-token"})
        assert stale.get("/ui/tasks", follow_redirects=False).status_code == 303
        make_user(api, "ana", "approver")
        assert signed_in_as(api, "ana").get("/ui/tasks").status_code == 200


def test_me_says_who_calls_and_what_they_may_do(api: Api) -> None:
    make_user(api, "ed", "editor")
    mine = signed_in_as(api, "ed").get("/api/me").json()
    assert {k: mine[k] for k in ("kind", "name", "role", "scope")} == {
        "kind": "user", "name": "ed", "role": "editor", "scope": None}
    assert mine["permissions"] == ["read", "edit"]
    _, reader = api.new_key("dash", "read")
    keyed = api.client.get("/api/me", headers={"Authorization": f"Bearer {reader}"}).json()
    assert keyed["kind"] == "key" and keyed["scope"] == "read"
    assert keyed["permissions"] == ["read"]
    assert api.get("/api/me")["permissions"] == list(PERMISSIONS)  # the fixture's admin key
