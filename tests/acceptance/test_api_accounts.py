"""Accounts and people read back over the REST API: what was ingested (with ``?wait=true``)
comes back exactly, with what the journeys did; search, paging, events, 404s and what is not
applied yet — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from accounts_world import ACME, P2, START, build_world
from api_support import Api, open_api

from itinera.runtime.clock import ManualClock


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url, ManualClock(START)) as api:
        build_world(api)
        yield api


def _ids(page: dict[str, Any]) -> list[str]:
    return [a["id"] for a in page["items"]]


def _problem(api: Api, path: str, status: int, **params: Any) -> dict[str, Any]:
    response = api.client.get(path, params=params, headers={"Authorization": f"Bearer {api.key}"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    return problem


def test_an_account_reads_back_with_people_groups_segments_and_enrollments(api: Api) -> None:
    found = api.get("/api/accounts/acme")
    enrollments = api.get("/api/enrollments", account="acme")["items"]
    assert found == {**ACME, "enrollments": enrollments}
    [enrollment] = enrollments
    assert (enrollment["journey"], enrollment["version"], enrollment["status"]) == ("welcome", 1, "active")
    assert enrollment["goal_achieved"] is False and enrollment["path"] == ["greet", "listen"]
    assert enrollment["enrolled_at"] == "2026-03-02T09:00:00Z"

    assert api.get("/api/people/p2") == P2
    assert api.get("/api/accounts/globex")["people"] == [{
        "id": "p3", "account": "globex", "email": None, "attributes": {}, "score": 0.0,
        "unsubscribed": False}]
    plain = api.get("/api/accounts/pure")
    assert plain == {"id": "pure", "attributes": {"name": "100%_Pure"}, "csm": None, "playbooks": [],
                     "moments": [], "created_at": "2026-01-05T00:00:00Z", "people": [],
                     "buying_groups": [], "segments": [], "enrollments": []}


def test_unknown_accounts_and_people_are_404_problems(api: Api) -> None:
    for path, detail in [("/api/accounts/nope", "no account 'nope'"),
                         ("/api/accounts/nope/events", "no account 'nope'"),
                         ("/api/people/nope", "no person 'nope'")]:
        problem = _problem(api, path, 404)
        assert problem["type"] == "urn:itinera:problem:not-found" and problem["detail"] == detail


def test_inputs_are_visible_once_applied(api: Api) -> None:
    response = api.post("/api/accounts", [{"id": "late", "attributes": {"name": "Late"}}], wait=False)
    assert response.status_code == 202
    _problem(api, "/api/accounts/late", 404)
    assert "late" not in _ids(api.get("/api/accounts"))
    api.service.work()
    assert api.get("/api/accounts/late")["attributes"] == {"name": "Late"}
    assert api.get("/api/accounts/late")["created_at"] == "2026-03-02T09:00:00Z"  # when applied


def test_search_by_id_prefix_or_name_in_any_case(api: Api) -> None:
    everyone = api.get("/api/accounts")
    assert _ids(everyone) == ["acme", "acme-labs", "globex", "pure"] and everyone["next"] is None
    assert everyone["items"][0] == {k: ACME[k] for k in
                                    ("id", "attributes", "csm", "playbooks", "moments", "created_at")}
    assert _ids(api.get("/api/accounts", q="acme")) == ["acme", "acme-labs", "globex"]
    assert _ids(api.get("/api/accounts", q="ACME-")) == ["acme-labs"]
    assert _ids(api.get("/api/accounts", q="initech")) == ["acme-labs"]
    assert _ids(api.get("/api/accounts", q="labs")) == []  # ids match by prefix only
    # LIKE's wildcards are plain characters.
    assert _ids(api.get("/api/accounts", q="%")) == ["pure"]
    assert _ids(api.get("/api/accounts", q="0%_p")) == ["pure"]
    assert _ids(api.get("/api/accounts", q="_")) == ["pure"]


def test_accounts_are_paged_in_the_order_they_were_added(api: Api) -> None:
    first = api.get("/api/accounts", limit=2)
    assert _ids(first) == ["acme", "acme-labs"] and first["next"] == "acme-labs"
    second = api.get("/api/accounts", limit=2, after=first["next"])
    assert _ids(second) == ["globex", "pure"] and second["next"] == "pure"
    last = api.get("/api/accounts", limit=2, after=second["next"])
    assert last == {"items": [], "next": None}
    searched = api.get("/api/accounts", q="acme", limit=2, after="acme-labs")
    assert _ids(searched) == ["globex"] and searched["next"] is None

    problem = _problem(api, "/api/accounts", 422, after="nope")
    assert problem["errors"] == [{"place": "?after", "message": "no account 'nope'"}]
    assert [e["place"] for e in _problem(api, "/api/accounts", 422, limit=0)["errors"]] == ["?limit"]


def test_events_of_an_account_and_its_people(api: Api) -> None:
    events = api.get("/api/accounts/acme/events")
    assert events == [
        # Internal events are recorded too: acme entered `big` when it was added.
        {"id": "segment.entered:acme:1", "type": "segment.entered", "account": "acme", "person": None,
         "at": "2026-03-02T09:00:00Z", "properties": {"segment": "big"}},
        {"id": "e1", "type": "trial.started", "account": "acme", "person": None,
         "at": "2026-03-01T10:00:00Z", "properties": {"plan": "pro"}},
        # A person's event, sent without an account, is the account's through its person.
        {"id": "e2", "type": "page.viewed", "account": None, "person": "p1",
         "at": "2026-03-01T11:00:00Z", "properties": {"path": "/pricing"}}]
    assert api.get("/api/accounts/acme/events", limit=2) == events[1:]  # the latest, oldest first
    assert [e["id"] for e in api.get("/api/accounts/globex/events")] == ["e3"]
    assert api.get("/api/accounts/pure/events") == []


def test_openapi_documents_the_reads(api: Api) -> None:
    document = api.get("/openapi.json")
    paths = document["paths"]
    show = paths["/api/accounts/{account_id}"]["get"]
    assert show["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AccountDetail"}
    assert "application/problem+json" in show["responses"]["404"]["content"]
    assert "?wait=true" in paths["/api/accounts"]["get"]["description"]
    assert {"get", "post"} <= set(paths["/api/accounts"])
    assert "/api/accounts/{account_id}/events" in paths and "/api/people/{person_id}" in paths
    schemas = document["components"]["schemas"]
    detail = set(schemas["AccountDetail"]["properties"])
    assert {"people", "buying_groups", "segments", "enrollments"} <= detail
