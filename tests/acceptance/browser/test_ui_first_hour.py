"""What a first hour with the UI runs into: lists paged with their totals, an error as a page
(not the API's JSON), CSMs by name, the tasks' "All" filter, a favicon, the service's address
leading to the UI."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from ui_world import World, open_world

from itinera.api import create_app


@pytest.fixture
def ui(database_url: str) -> Iterator[tuple[World, TestClient]]:
    with open_world(database_url, accounts=120) as world:
        world.progress(3)
        client = TestClient(create_app(world.service))
        response = client.post("/ui/login", data={"key": world.key}, follow_redirects=False)
        assert response.status_code == 303
        yield world, client


def rows(page: str, table: str) -> int:
    body = re.search(rf'<table class="table" id="{table}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body, f"no table {table}"
    return body.group(1).count("<tr")


def test_accounts_are_paged_with_their_total_and_csm_names(ui: tuple[World, TestClient]) -> None:
    _, client = ui
    first = client.get("/ui/accounts").text
    assert rows(first, "accounts") == 50 and "Showing 1–50 of 120" in first
    assert 'href="/ui/accounts?page=2"' in first and "page 1 of 3" in first
    last = client.get("/ui/accounts", params={"page": 3}).text
    assert rows(last, "accounts") == 20 and "Showing 101–120 of 120" in last
    assert "acct-0119" in last and "acct-0000" not in last
    assert "<td>Ann Lee</td>" in first or "<td>Bob Roy</td>" in first
    assert not re.search(r"<td>(ann|bob)</td>", first)  # names, not ids
    found = client.get("/ui/accounts", params={"q": "acct-011"}).text
    assert "Showing 1–10 of 10" in found and "page 1 of" not in found
    assert client.get("/ui/accounts", params={"page": 0}).status_code == 422


def test_the_all_filter_lists_every_task_and_stays_after_an_action(ui: tuple[World, TestClient]) -> None:
    _, client = ui
    page = client.get("/ui/tasks").text
    ids = re.findall(r'data-task="(\d+)"', page)
    assert len(ids) == 3 and re.search(r"Ann Lee|Bob Roy", page)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf
    done = client.post(f"/ui/tasks/{ids[0]}/complete",
                       data={"csrf": csrf.group(1), "status": "all"}, follow_redirects=False)
    assert done.headers["location"].startswith("/ui/tasks?status=all")
    every = client.get(done.headers["location"]).text
    assert sorted(re.findall(r'data-task="(\d+)"', every)) == sorted(ids)  # the completed one too
    assert '<option value="all" selected>All (3)</option>' in every
    assert "Showing 1–3 of 3" in every
    assert re.findall(r'data-task="(\d+)"', client.get("/ui/tasks", params={"status": ""}).text) == ids


def test_an_error_is_a_page_in_the_ui_and_a_problem_document_in_the_api(
        ui: tuple[World, TestClient]) -> None:
    world, client = ui
    for path, status, text in [("/ui/accounts/no-such", 404, "no account &#39;no-such&#39;"),
                               ("/ui/nowhere", 404, "Not Found"),
                               ("/ui/accounts?page=zero", 422, "page")]:
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert f"Error {status}" in response.text and text in response.text, response.text
        assert '<link rel="icon"' in response.text
    api = client.get("/api/accounts/no-such", headers={"Authorization": f"Bearer {world.key}"})
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    fragment = client.get("/ui/accounts/no-such", headers={"HX-Request": "true"})
    assert fragment.status_code == 404 and fragment.json()["detail"] == "no account 'no-such'"


def test_a_favicon_and_the_root_lead_where_a_browser_expects(ui: tuple[World, TestClient]) -> None:
    _, client = ui
    icon = client.get("/favicon.ico", follow_redirects=True)
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert '<link rel="icon" href="/ui/static/favicon.svg"' in client.get("/ui/journeys").text
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/ui/"


def test_template_preview_keeps_what_was_typed_when_it_finds_nothing(
        ui: tuple[World, TestClient]) -> None:
    _, client = ui
    page = client.get("/ui/templates", params={"template": "dm-intro", "person": "acct-00O1-0"}).text
    assert "no person &#39;acct-00O1-0&#39;" in page
    assert 'name="person" list="people" value="acct-00O1-0"' in page  # to correct the typo
    page = client.get("/ui/templates", params={"template": "dm-intor", "person": "acct-0001-0"}).text
    assert "no template &#39;dm-intor&#39;" in page and 'value="acct-0001-0"' in page
