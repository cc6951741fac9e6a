"""The studio's JSON endpoints (``/ui/studio/api``), on SQLite and PostgreSQL: they take the UI
session, never a key; every write needs the page's CSRF token in a header; a read-only session
may read but not write; the page holds no key; the built assets it loads are in the package."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from api_support import Api, open_api
from fastapi.testclient import TestClient

import itinera.web
from itinera.storage import keys

STATIC = Path(itinera.web.__file__).parent / "static" / "studio"


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def _signed_in(api: Api, key: str | None = None) -> TestClient:
    client = TestClient(api.client.app)
    response = client.post("/ui/login", data={"key": key or api.key}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def _new_draft(client: TestClient) -> tuple[str, str]:
    """A new journey draft made with the journeys list's button: its id and the page's token."""
    listing = client.get("/ui/journeys")
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', listing.text)
    assert token, listing.text
    made = client.post("/ui/studio/new", data={"csrf": token.group(1)}, follow_redirects=False)
    assert made.status_code == 303, made.text
    draft = made.headers["location"].rsplit("/", 1)[1]
    page = client.get(f"/ui/studio/{draft}")
    assert page.status_code == 200
    csrf = re.search(r'data-csrf="([0-9a-f]+)"', page.text)
    assert csrf, page.text
    return draft, csrf.group(1)


def test_the_studio_reads_and_writes_with_the_session_and_its_token(api: Api) -> None:
    client = _signed_in(api)
    draft_id, csrf = _new_draft(client)
    page = client.get(f"/ui/studio/{draft_id}").text
    assert api.key not in page and "/ui/static/studio/studio.js" in page
    draft = client.get(f"/ui/studio/api/drafts/{draft_id}").json()
    assert draft["kind"] == "journey" and draft["model"]["id"] == "new-journey"

    edit = {"revision": draft["revision"], "edits": [{"op": "set", "path": ["name"], "value": "Renewals"}]}
    refused = client.post(f"/ui/studio/api/drafts/{draft_id}/edits", json=edit)
    assert refused.status_code == 403  # no token: a page of another site could not know it
    wrong = client.post(f"/ui/studio/api/drafts/{draft_id}/edits", json=edit,
                        headers={"X-CSRF-Token": "0" * 40})
    assert wrong.status_code == 403
    done = client.post(f"/ui/studio/api/drafts/{draft_id}/edits", json=edit, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200, done.text
    assert done.json()["model"]["name"] == "Renewals" and "name: Renewals" in done.json()["text"]

    stale = client.post(f"/ui/studio/api/drafts/{draft_id}/edits", json=edit, headers={"X-CSRF-Token": csrf})
    assert stale.status_code == 409  # the revision read is no longer the draft's
    text = done.json()["text"].replace("Renewals", "Renewals soon")
    typed = client.post(f"/ui/studio/api/drafts/{draft_id}/text", headers={"X-CSRF-Token": csrf},
                        json={"revision": done.json()["revision"], "text": text})
    assert typed.status_code == 200 and typed.json()["model"]["name"] == "Renewals soon"
    exported = client.get(f"/ui/studio/api/drafts/{draft_id}/export")
    assert exported.status_code == 200 and exported.text == text

    # The forms' pick-lists, words and schema: the API's, read with the same session.
    words = client.post("/api/conditions/words", json={"condition": {"account.health": {"gte": 70}}},
                        headers={"X-CSRF-Token": csrf})
    assert words.status_code == 200 and "70" in words.json()["words"]
    assert "ConditionOperators" in client.get("/api/schema/journey").json()["$defs"]
    assert isinstance(client.get("/api/workspace/catalog").json()["segments"], list)


def test_without_a_session_or_with_a_read_only_one(api: Api) -> None:
    client = _signed_in(api)
    draft_id, _ = _new_draft(client)
    anonymous = TestClient(api.client.app)
    assert anonymous.get(f"/ui/studio/api/drafts/{draft_id}", follow_redirects=False).status_code == 303
    # An API key is not a studio session: the studio's endpoints do not take one.
    keyed = anonymous.get(f"/ui/studio/api/drafts/{draft_id}", follow_redirects=False,
                          headers={"Authorization": f"Bearer {api.key}"})
    assert keyed.status_code == 303
    with api.service.intake.engine.begin() as connection:
        _, reader_key = keys.create_api_key(connection, "reader", datetime.now(UTC), "read")
    reader = _signed_in(api, reader_key)
    assert reader.get(f"/ui/studio/api/drafts/{draft_id}").status_code == 200
    draft = reader.get(f"/ui/studio/api/drafts/{draft_id}").json()
    reader_page = reader.get(f"/ui/studio/{draft_id}").text
    reader_csrf = re.search(r'data-csrf="([0-9a-f]+)"', reader_page)
    assert reader_csrf
    edit = {"revision": draft["revision"], "edits": [{"op": "set", "path": ["name"], "value": "x"}]}
    denied = reader.post(f"/ui/studio/api/drafts/{draft_id}/edits", json=edit,
                         headers={"X-CSRF-Token": reader_csrf.group(1)})
    assert denied.status_code == 403


def test_the_built_assets_are_in_the_package() -> None:
    for name in ("studio.js", "studio.css", "studio.LICENSES.txt"):
        assert (STATIC / name).stat().st_size > 0, name
    # The bundle holds the code editor, its JSON Schema support and the graph's layout.
    bundle = (STATIC / "studio.js").read_text()
    assert "cm-editor" in bundle and "rankdir" in bundle


def test_the_studio_shows_the_drafts_review_state(api: Api) -> None:
    """Under the approval workflow the studio loads the draft's review panel: its state, the
    reviewers' comments and Submit for review (a new draft: not submitted yet)."""
    assert api.post("/api/inputs", [{"configure": {"approval": {"journeys": True}}}]
                    ).status_code == 200
    client = _signed_in(api)
    draft_id, _ = _new_draft(client)
    page = client.get(f"/ui/studio/{draft_id}").text
    panel = re.search(r'hx-get="(/ui/reviews/panel\?[^"]+)"', page)
    assert panel, page
    fragment = client.get(panel.group(1).replace("&amp;", "&"))
    assert fragment.status_code == 200, fragment.text
    assert 'data-state="draft"' in fragment.text and "Submit for review" in fragment.text
    assert f'name="draft_id" value="{draft_id}"' in fragment.text
