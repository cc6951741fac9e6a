"""Helpers of the tests of users and roles: make a user, sign a browser in with a password."""

from __future__ import annotations

from datetime import UTC, datetime

from api_support import Api
from fastapi.testclient import TestClient

from itinera.api.auth import COOKIE, CSRF_HEADER, csrf_token
from itinera.storage import users

__all__ = ["PASSWORD", "make_user", "session_headers", "signed_in_as"]

PASSWORD = "correct horse battery"


def make_user(api: Api, name: str, role: str, password: str = PASSWORD) -> users.User:
    with api.service.intake.engine.begin() as connection:
        return users.create_user(connection, name, password, role, datetime.now(UTC))


def signed_in_as(api: Api, name: str, password: str = PASSWORD,
                 base_url: str = "http://testserver") -> TestClient:
    """A browser signed in as ``name`` by the login page's form."""
    client = TestClient(api.client.app, base_url=base_url)
    response = client.post("/ui/sign-in", data={"name": name, "password": password},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def session_headers(client: TestClient) -> dict[str, str]:
    """What the studio's fetches send along with the cookie on a write: the form token."""
    return {CSRF_HEADER: csrf_token(client.cookies[COOKIE])}
