"""The versions pages of the UI over a real service (SQLite and PostgreSQL): the history, a diff
on the graph and as YAML, the publish page's impact preview checked against the store, a
publish that moves one node's enrollments, and a rollback through the same preview."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from api_support import Api, open_api
from fastapi.testclient import TestClient
from test_api_impact import START, V1, _store_counts, _v2

from itinera.runtime.clock import ManualClock
from itinera.storage import schema as t
from itinera.web.auth import COOKIE, csrf_token
from itinera.web.version_diff import definition_yaml


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    from datetime import timedelta

    clock = ManualClock(START)
    with open_api(database_url, clock) as api:
        assert api.post("/api/inputs", [{"configure": {"segments": [
            {"id": "members", "when": {"account.member": True}}]}}]).status_code == 200
        assert api.post("/api/journeys", V1).status_code == 200
        assert api.post("/api/journeys/nurture/enable", None).status_code == 200
        assert api.post("/api/accounts", [
            {"id": f"a{i}", "attributes": {"member": True, "fast": i >= 3}} for i in range(5)
        ]).status_code == 200
        clock.set(START + timedelta(days=1))
        yield api


def _client(api: Api) -> tuple[TestClient, str]:
    client = TestClient(api.client.app)
    assert client.post("/ui/login", data={"key": api.key},
                       follow_redirects=False).status_code == 303
    return client, csrf_token(client.cookies[COOKIE])


def _counts(page: str) -> dict[str, int]:
    return {node: int(n) for node, n in re.findall(r'data-count="([^"]+)">(\d+)<', page)}


def test_preview_publish_with_a_move_then_diff_and_roll_back(api: Api) -> None:
    client, csrf = _client(api)
    text = definition_yaml(_v2())
    preview = client.post("/ui/journeys/nurture/publish",
                          data={"csrf": csrf, "text": text, "intent": "preview"})
    assert preview.status_code == 200, preview.text
    # The counts per node of the current version are the store's.
    assert {(1, n): c for n, c in _counts(preview.text).items()} == _store_counts(api)
    # Nodes the new version keeps are preselected.
    assert 'value="first=first" selected' in preview.text
    assert 'value="ask=ask" selected' in preview.text

    # Move only ask's enrollments; first's stay on version 1.
    published = client.post("/ui/journeys/nurture/publish", data={
        "csrf": csrf, "text": text, "intent": "publish", "mapped": "true",
        "move": ["first=", "ask=ask"]}, follow_redirects=False)
    assert published.status_code == 303, published.text
    assert _store_counts(api) == {(1, "first"): 3, (2, "ask"): 2}
    # The account's timeline tells the move.
    timeline = client.get("/ui/accounts/a3").text
    assert "moved to version 2 at ask" in timeline and "ask (version 1)" in timeline

    versions = client.get("/ui/journeys/nurture/versions")
    assert versions.status_code == 200
    assert 'data-version="2"' in versions.text and 'data-rollback="1"' in versions.text
    # Who published: the key the test signs in with.
    assert re.search(r'data-version="2".*?<td class="small muted">[^<]*tests', versions.text, re.S)

    diff = client.get("/ui/journeys/nurture/diff", params={"a": 1, "b": 2})
    assert diff.status_code == 200
    assert 'data-node="call" data-diff="added"' in diff.text
    assert 'data-node="first" data-diff="changed"' in diff.text
    assert 'data-node="done" data-diff="same"' in diff.text
    assert "+  call:" in html.unescape(diff.text) or "+    call:" in html.unescape(diff.text)

    rollback = client.get("/ui/journeys/nurture/rollback", params={"to": 1})
    assert rollback.status_code == 200
    assert _counts(rollback.text) == {"first": 3, "ask": 2}  # version 1's and version 2's
    body = html.unescape(re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>',
                                   rollback.text, re.S)[1])  # type: ignore[index]
    done = client.post("/ui/journeys/nurture/publish", data={
        "csrf": csrf, "text": body, "intent": "publish", "mapped": "true",
        "move": ["ask=ask"]}, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert _store_counts(api) == {(1, "first"): 3, (3, "ask"): 2}
    with api.service.intake.engine.connect() as connection:
        v3 = connection.execute(sa.select(t.journeys.c.definition).where(
            t.journeys.c.id == "nurture", t.journeys.c.version == 3)).scalar_one()
    assert v3["nodes"] == V1["nodes"]


def test_a_bad_candidate_shows_its_problems_and_cannot_be_published(api: Api) -> None:
    client, csrf = _client(api)
    page = client.post("/ui/journeys/nurture/publish", data={
        "csrf": csrf, "text": "id: nurture\nstart: nowhere\nnodes: {}\n", "intent": "publish"})
    assert page.status_code == 200
    assert re.search(r"<li><span class=\"mono\">(start|entry|nodes)[^<]*</span>", page.text)
    assert re.search(r'id="publish"[^>]*disabled', page.text)
    assert _store_counts(api) == {(1, "first"): 3, (1, "ask"): 2}


def test_a_stored_draft_is_published_with_its_moves_and_removed(api: Api) -> None:
    client, csrf = _client(api)
    created = api.post("/api/drafts", {"kind": "journey", "object_id": "nurture",
                                       "from": "text", "text": definition_yaml(_v2())},
                       wait=False)
    assert created.status_code == 201, created.text
    draft = created.json()
    page = client.get(f"/ui/drafts/{draft['id']}/publish")
    assert page.status_code == 200, page.text
    assert {(1, n): c for n, c in _counts(page.text).items()} == _store_counts(api)
    text = html.unescape(re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>',
                                   page.text, re.S)[1])  # type: ignore[index]
    form = {"csrf": csrf, "text": text, "intent": "publish", "mapped": "true",
            "move": ["first=", "ask=ask"], "revision": str(draft["revision"])}
    done = client.post(f"/ui/drafts/{draft['id']}/publish", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert _store_counts(api) == {(1, "first"): 3, (2, "ask"): 2}
    assert client.get(f"/api/drafts/{draft['id']}",
                      headers={"Authorization": f"Bearer {api.key}"}).status_code == 404
    versions = client.get("/ui/journeys/nurture/versions").text
    assert re.search(r'data-version="2".*?key:tests', versions, re.S)  # published_by
    # Published again from the same page: the draft is gone, nothing more is published.
    again = client.post(f"/ui/drafts/{draft['id']}/publish", data=form)
    assert again.status_code == 404
