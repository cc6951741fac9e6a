"""API keys: every endpoint but /health needs one; `itinera keys` creates, lists and revokes
them; errors are problem documents; the OpenAPI description is served."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
from api_support import Api, basic, open_api
from typer.testing import CliRunner

from itinera.cli.main import app as cli
from itinera.storage import keys
from itinera.storage import schema as t


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Basic")
    problem = response.json()
    assert problem["type"] == "urn:itinera:problem:unauthorized" and problem["status"] == 401
    assert problem["title"] and problem["detail"]


def test_every_endpoint_but_health_needs_a_key(api: Api) -> None:
    client = api.client
    assert client.get("/health").json() == {"status": "ok"}
    _, other = api.new_key("other")
    for method, path in [("post", "/v1/batch"), ("post", "/v1/track"), ("post", "/api/accounts"),
                         ("post", "/api/journeys/validate"), ("get", "/api/journeys"),
                         ("get", "/api/enrollments"), ("get", "/api/tasks"),
                         ("post", "/api/tasks/1/complete"), ("get", "/api/rejected"),
                         ("get", "/api/accounts"), ("get", "/api/accounts/acme"),
                         ("get", "/api/accounts/acme/events"), ("get", "/api/people/p1"),
                         ("get", "/openapi.json")]:
        assert_unauthorized(client.request(method, path))
        assert_unauthorized(client.request(method, path, headers=basic("itk_nope_nope")))
        assert_unauthorized(client.request(method, path, headers={"Authorization": "Bearer x"}))
        assert_unauthorized(client.request(method, path, headers={
            "Authorization": "Basic " + base64.b64encode(b"garbage").decode()[:-1]}))
        assert client.request(method, path, headers=basic(other)).status_code != 401
    with api.service.intake.engine.begin() as connection:
        assert keys.revoke_api_key(connection, other.split("_")[1], datetime.now(UTC))
    assert_unauthorized(client.get("/api/journeys", headers=basic(other)))
    assert client.get("/api/journeys", headers={"Authorization": f"Bearer {api.key}"}).json() == []


def test_keys_cli_creates_lists_and_revokes(database_url: str) -> None:
    runner = CliRunner()
    created = runner.invoke(cli, ["keys", "create", "segment-prod", "--database", database_url])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("itk_") and "not shown again" in created.stderr
    with sa.create_engine(database_url).connect() as connection:
        [row] = connection.execute(sa.select(t.api_keys)).all()
    assert row.name == "segment-prod" and key not in str(tuple(row))  # only its hash is kept
    listed = runner.invoke(cli, ["keys", "list", "--database", database_url])
    assert listed.exit_code == 0 and f"{row.id}\tsegment-prod\tadmin\t" in listed.stdout
    assert "active" in listed.stdout and key not in listed.stdout

    with open_api(database_url) as api:
        assert api.client.get("/api/journeys", headers=basic(key)).status_code == 200
        revoked = runner.invoke(cli, ["keys", "revoke", row.id, "--database", database_url])
        assert revoked.exit_code == 0
        assert_unauthorized(api.client.get("/api/journeys", headers=basic(key)))
    assert "revoked" in runner.invoke(cli, ["keys", "list", "--database", database_url]).stdout
    again = runner.invoke(cli, ["keys", "revoke", row.id, "--database", database_url])
    assert again.exit_code == 1 and "no active key" in again.stderr


def test_openapi_is_served(api: Api) -> None:
    document = api.get("/openapi.json")
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in ["/v1/batch", "/v1/identify", "/v1/group", "/v1/track", "/api/accounts",
                 "/api/people", "/api/buying-groups", "/api/events", "/api/inputs",
                 "/api/journeys", "/api/journeys/validate", "/api/journeys/{journey_id}/enable",
                 "/api/enrollments", "/api/enrollments/{enrollment_id}", "/api/tasks",
                 "/api/tasks/{task_id}/complete", "/api/tasks/{task_id}/reassign",
                 "/api/rejected", "/api/accounts/{account_id}", "/api/accounts/{account_id}/events",
                 "/api/people/{person_id}", "/health"]:
        assert path in paths, path
    assert set(document["components"]["securitySchemes"]) == {"apiKeyBasic", "apiKeyBearer"}
    assert paths["/health"]["get"]["security"] == []
    accounts = paths["/api/accounts"]["post"]
    assert accounts["requestBody"]["content"]["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/AccountData"}
    assert "AccountData" in document["components"]["schemas"]
    assert "application/problem+json" in accounts["responses"]["422"]["content"]
