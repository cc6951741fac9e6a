"""Scoped API keys (issue 13): every route of the API and the UI declares the scope it needs,
and every scope of key gets through exactly where that scope allows, else 403 naming the scope.

The table test walks ``app.routes``: a route added without a declared scope (and not in
``PUBLIC``) makes it fail, so no route can be forgotten.
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

from itinera.api.auth import GRANTS, route_scopes
from itinera.storage import keys, migrate
from itinera.storage.engine import create_engine
from itinera.web.auth import COOKIE, csrf_token

# Routes anyone may call: the health check, the unsubscribe links of emails, the UI's sign-in,
# sign-out, redirects to it, its static files and icon.
PUBLIC = {("GET", "/health"), ("GET", "/unsubscribe"), ("POST", "/unsubscribe"), ("GET", "/"),
          ("GET", "/ui"), ("GET", "/ui/"), ("GET", "/ui/login"), ("POST", "/ui/login"),
          ("POST", "/ui/logout"), ("MOUNT", "/ui/static"), ("GET", "/favicon.ico")}


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
        return client.post(url, data=data, headers=headers, follow_redirects=False)
    return client.request(method, url, json={}, headers=headers, follow_redirects=False)


def test_every_route_answers_every_scope_as_declared(api: Api) -> None:
    app = api.client.app
    assert isinstance(app, FastAPI)
    client = TestClient(app)
    now = datetime.now(UTC)
    by_scope: dict[str, tuple[str, str]] = {}
    with api.service.intake.engine.begin() as connection:
        for scope in GRANTS:
            id, key = keys.create_api_key(connection, f"as-{scope}", now, scope)
            by_scope[scope] = (key, keys.create_session(connection, id, now))
    checked = 0
    for method, path, needed in _routes(app):
        if not needed:
            continue
        ui = path.startswith("/ui")
        for scope, (key, session) in by_scope.items():
            if ui:
                client.cookies.set(COOKIE, session, path="/ui")
                headers: dict[str, str] = {}
                data = {"csrf": csrf_token(session)} if method == "POST" else None
            else:
                client.cookies.clear()
                headers, data = {"Authorization": f"Bearer {key}"}, None
            response = _request(client, method, path, headers, data)
            where = f"{method} {path} with a key of scope {scope}"
            if needed <= GRANTS[scope]:
                assert response.status_code not in (401, 403), (where, response.text)
            else:
                assert response.status_code == 403, (where, response.text)
                # The API answers a problem document; a UI page, an error page saying it.
                said = html.unescape(response.text) if ui else response.json()["detail"]
                assert response.headers["content-type"].startswith(
                    "text/html" if ui else "application/problem+json"), where
                missing = sorted(needed - GRANTS[scope])
                assert any(f"the scope '{s}'" in said for s in missing), (where, said)
            checked += 1
        # Without a key: 401 from the API, the login page from the UI.
        client.cookies.clear()
        anonymous = _request(client, method, path, {}, {} if ui and method == "POST" else None)
        assert anonymous.status_code == (303 if ui else 401), (method, path, anonymous.text)
    assert checked > 120


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
            ("POST", "/api/inputs", [{"configure": WORKSPACE}], "write")]:
        response = api.client.request(method, path, json=body, headers=bearer)
        assert response.status_code == 403, (path, response.text)
        assert f"the scope '{needed}'" in response.json()["detail"]
        assert "this key's scope is 'ingest'" in response.json()["detail"]
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
