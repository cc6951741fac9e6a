"""The admin pages (issue 13): an admin makes users and keys from the UI, changes roles,
disables, resets passwords and revokes keys, each change in the audit log with the admin's
name; a new key is shown once, in the answer to its form; nobody else sees these pages."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from api_support import Api, open_api
from fastapi.testclient import TestClient
from users_support import PASSWORD, make_user, signed_in_as

from itinera.storage import audit, keys, users


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


def _audit(api: Api, kind: str) -> list[dict[str, Any]]:
    with api.service.intake.engine.connect() as connection:
        return audit.entries(connection, audit.Filters(kind=kind))


def test_an_admin_manages_users_from_the_ui(api: Api) -> None:
    make_user(api, "root", "admin")
    admin = signed_in_as(api, "root")
    page = admin.get("/ui/admin/users")
    assert page.status_code == 200 and 'data-user="root"' in page.text
    assert 'href="/ui/admin/users"' in admin.get("/ui/journeys").text  # in the top bar
    csrf = _csrf(page.text)

    made = admin.post("/ui/admin/users", data={"csrf": csrf, "name": "Ed", "role": "editor",
                                               "password": PASSWORD}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/ui/admin/users?done=created:ed"
    assert PASSWORD not in made.headers["location"]
    short = admin.post("/ui/admin/users", data={"csrf": csrf, "name": "x", "password": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    taken = admin.post("/ui/admin/users", data={"csrf": csrf, "name": "ed", "password": PASSWORD})
    assert taken.status_code == 422 and "already a user" in html.unescape(taken.text)

    editor = signed_in_as(api, "ed")
    assert editor.get("/ui/tasks").status_code == 200
    denied = editor.get("/ui/admin/users")
    assert denied.status_code == 403 and "the role 'admin'" in html.unescape(denied.text)
    assert 'href="/ui/admin/users"' not in editor.get("/ui/journeys").text

    role = admin.post("/ui/admin/users/ed/role", data={"csrf": csrf, "role": "approver"},
                      follow_redirects=False)
    assert role.status_code == 303
    disabled = admin.post("/ui/admin/users/ed/disable", data={"csrf": csrf},
                          follow_redirects=False)
    assert disabled.status_code == 303
    assert editor.get("/ui/tasks", follow_redirects=False).status_code == 303  # signed out
    assert admin.post("/ui/admin/users/ed/enable", data={"csrf": csrf},
                      follow_redirects=False).status_code == 303
    reset = admin.post("/ui/admin/users/ed/password",
                       data={"csrf": csrf, "password": "a new long password"},
                       follow_redirects=False)
    assert reset.status_code == 303
    signed_in_as(api, "ed", "a new long password")
    assert admin.post("/ui/admin/users/nobody/disable", data={"csrf": csrf}).status_code == 404
    # Without the form token nothing changes.
    assert admin.post("/ui/admin/users/ed/disable", data={"csrf": "x"}).status_code == 403

    with api.service.intake.engine.connect() as connection:
        ed = users.find_user(connection, "ed")
    assert ed is not None and ed.role == "approver" and ed.disabled_at is None
    for kind in ("user_create", "user_role", "user_disable", "user_enable",
                 "user_password_reset"):
        [entry] = _audit(api, kind)
        assert entry["object"] == {"kind": "user", "id": "ed"}, kind
        assert entry["actor"]["label"] == "user:root", (kind, entry)
        assert "a new long password" not in str(entry) and PASSWORD not in str(entry)


def test_an_admin_makes_and_revokes_keys_from_the_ui(api: Api) -> None:
    make_user(api, "root", "admin")
    admin = signed_in_as(api, "root")
    page = admin.get("/ui/admin/keys")
    assert page.status_code == 200 and "tests" in page.text  # the fixture's key
    csrf = _csrf(page.text)
    made = admin.post("/ui/admin/keys", data={"csrf": csrf, "name": "website", "scope": "ingest",
                                              "rate_limit": "5"})
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    key = re.search(r"<code class=\"mono\">(itk_[^<]+)</code>", made.text)
    assert key is not None
    with api.service.intake.engine.connect() as connection:
        [listed] = [k for k in keys.api_keys(connection) if k.name == "website"]
    assert listed.scope == "ingest" and listed.rate_limit == 5
    assert key.group(1) not in admin.get("/ui/admin/keys").text  # shown once
    bearer = {"Authorization": f"Bearer {key.group(1)}"}
    track = {"type": "track", "event": "seen", "userId": "ada", "messageId": "m1"}
    assert api.client.post("/v1/track", json=track, headers=bearer).status_code == 200

    bad = admin.post("/ui/admin/keys", data={"csrf": csrf, "name": "x", "scope": "root"})
    assert bad.status_code == 422 and "unknown scope" in html.unescape(bad.text)
    revoked = admin.post(f"/ui/admin/keys/{listed.id}/revoke", data={"csrf": csrf},
                         follow_redirects=False)
    assert revoked.status_code == 303
    assert api.client.post("/v1/track", json=track, headers=bearer).status_code == 401
    [created] = _audit(api, "key_create")
    [gone] = _audit(api, "key_revoke")
    assert created["object"] == gone["object"] == {"kind": "key", "id": listed.id}
    assert key.group(1) not in str(created)

    # An API key signed in to the UI is an admin only with the scope admin.
    _, reader = api.new_key("reader", "read")
    browser = TestClient(api.client.app)
    assert browser.post("/ui/login", data={"key": reader},
                        follow_redirects=False).status_code == 303
    assert browser.get("/ui/admin/keys").status_code == 403
