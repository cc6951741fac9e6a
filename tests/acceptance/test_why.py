"""Why (not)?: ``runtime.why`` for accounts in and out of a journey's entry segment, re-entry
refused and allowed after a delay, a paused journey, event entry and the next flip by time alone;
``GET /api/accounts/{id}/explain`` — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_support import Api, open_api
from why_world import BIG, START, build_world

from itinera.runtime.clock import ManualClock
from itinera.runtime.why import NotFound, why


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[Api, ManualClock]]:
    clock = ManualClock(START)
    with open_api(database_url, clock) as api:
        build_world(api)
        yield api, clock


def _ok(api: Api, path: str, body: Any) -> None:
    response = api.post(path, body)
    assert response.status_code == 200, response.text


def _why(api: Api, account: str, journey: str) -> dict[str, Any]:
    with api.service.intake.engine.connect() as connection:
        return why(connection, account, journey, api.service.clock.now())


def test_an_account_in_the_segment_is_enrolled_and_told_what_would_end_it(
        world: tuple[Api, ManualClock]) -> None:
    api, _ = world
    found = _why(api, "inside", "big-deal")
    assert (found["status"], found["version"], found["name"]) == ("enabled", 1, "Big deal")
    [segment] = found["entry"]["segments"]
    assert segment["id"] == "big" and segment["member"] and segment["holds"]
    assert [c["holds"] for c in segment["clauses"]] == [True, True]
    assert segment["clauses"][0] == {"condition": "account employees is at least 1000",
                                     "holds": True, "values": {"account.employees": 5000}}
    assert segment["deciding"] is None  # an "all" that holds: every clause counted
    assert found["entry"]["next_flip"] is None  # nothing here changes by time alone
    [enrollment] = found["enrollments"]
    assert enrollment["status"] == "active" and enrollment["enrolled_at"] == "2026-03-02T09:00:00Z"
    assert found["summary"].startswith("Enrolled since 2026-03-02T09:00:00Z")
    assert not found["reenroll"]["allowed"] and "already enrolled" in found["reenroll"]["reason"]
    assert found["goal"]["holds"] is False and found["goal"]["clauses"][0]["values"] == {
        "account.tier": "gold"}
    assert found["exit"]["condition"] == "account churned is true"
    assert found["exit"]["clauses"][0]["values"] == {"account.churned": None}


def test_an_account_outside_the_segment_is_told_the_deciding_clause_and_its_value(
        world: tuple[Api, ManualClock]) -> None:
    api, _ = world
    found = _why(api, "small", "big-deal")
    [segment] = found["entry"]["segments"]
    assert not segment["member"] and not segment["holds"]
    assert segment["deciding"] == 0
    assert segment["clauses"][0] == {"condition": "account employees is at least 1000",
                                     "holds": False, "values": {"account.employees": 50}}
    assert segment["clauses"][1]["holds"] is True
    assert found["enrollments"] == [] and found["reenroll"]["allowed"]
    assert found["summary"] == ("Not enrolled: not in segment big: account employees is at "
                                "least 1000 is false.")
    assert found["goal"] is None and found["exit"] is None
    assert found["next_change"] is None


def test_reentry_is_refused_until_the_delay_after_the_enrollment_ended(
        world: tuple[Api, ManualClock]) -> None:
    api, clock = world
    clock.advance(timedelta(days=1))
    _ok(api, "/api/accounts", [{"id": "inside", "attributes": {"churned": True}}])
    found = _why(api, "inside", "big-deal")
    [ended] = found["enrollments"]
    assert (ended["status"], ended["reason"], ended["ended_at"]) == (
        "unenrolled", "exit_criteria", "2026-03-03T09:00:00Z")
    assert found["reenroll"] == {
        "rule": "after 7d", "allowed": False, "from": "2026-03-10T09:00:00Z",
        "reason": "enrollment 1 ended 2026-03-03T09:00:00Z: it may enter again from "
                  "2026-03-10T09:00:00Z"}
    assert found["summary"].startswith("Not enrolled: enrollment 1 ended")
    assert found["next_change"] == "2026-03-10T09:00:00Z"
    clock.advance(timedelta(days=7))
    later = _why(api, "inside", "big-deal")
    assert later["reenroll"]["allowed"] and later["next_change"] is None
    # Still in the segment: it enrolls again only on entering it.
    assert "in segment big but enrolls only on entering it" in later["summary"]


def test_a_paused_journey_says_so(world: tuple[Api, ManualClock]) -> None:
    api, _ = world
    _ok(api, "/api/journeys/big-deal/pause", None)
    found = _why(api, "small", "big-deal")
    assert found["status"] == "paused"
    assert found["summary"] == ("Not enrolled: the journey is paused and enrolls no one until "
                                "it is enabled.")


def test_an_enrollment_in_a_paused_journey_and_a_draft_journey(
        world: tuple[Api, ManualClock]) -> None:
    api, _ = world
    _ok(api, "/api/journeys/big-deal/pause", None)
    assert _why(api, "inside", "big-deal")["summary"] == (
        "Enrolled since 2026-03-02T09:00:00Z (enrollment 1, version 1); the journey is paused: "
        "its enrollments take no steps until it is resumed.")
    _ok(api, "/api/journeys", {**BIG, "id": "later"})  # published, never enabled
    draft = _why(api, "inside", "later")
    assert (draft["status"], draft["version"], draft["enrollments"]) == ("draft", 1, [])
    assert draft["entry"]["segments"][0]["holds"] is True
    assert draft["summary"] == ("Not enrolled: the journey is draft and enrolls no one until it "
                                "is enabled.")


def test_reentry_never_after_an_enrollment_ended(world: tuple[Api, ManualClock]) -> None:
    api, _ = world
    _ok(api, "/api/events", [{"id": "t2", "type": "trial.started", "account": "small",
                              "at": "2026-03-02T09:00:00Z", "properties": {"plan": "pro"}}])
    _ok(api, "/api/journeys/trial/disable", None)  # unenrolls it
    _ok(api, "/api/journeys/trial/enable", None)
    found = _why(api, "small", "trial")
    [ended] = found["enrollments"]
    assert ended["status"] == "unenrolled" and ended["ended_at"] == "2026-03-02T09:00:00Z"
    assert found["reenroll"] == {
        "rule": "never", "allowed": False, "from": None,
        "reason": f"enrollment {ended['id']} ended 2026-03-02T09:00:00Z and the rule is never "
                  "to re-enter"}
    assert found["summary"] == f"Not enrolled: {found['reenroll']['reason']}."
    assert found["next_change"] is None


def test_event_entry_says_whether_a_matching_event_arrived(world: tuple[Api, ManualClock]) -> None:
    api, _ = world
    found = _why(api, "small", "trial")
    assert found["entry"]["segments"] == []
    assert found["entry"]["event"] == {"type": "trial.started", "where": "event plan is pro",
                                       "count": 0, "latest": None}
    assert found["summary"] == "Not enrolled: no matching trial.started event has arrived."
    _ok(api, "/api/events", [{"id": "t2", "type": "trial.started", "account": "small",
                              "at": "2026-03-02T09:00:00Z", "properties": {"plan": "pro"}}])
    enrolled = _why(api, "small", "trial")
    assert enrolled["entry"]["event"]["count"] == 1
    assert enrolled["entry"]["event"]["latest"] == {"id": "t2", "at": "2026-03-02T09:00:00Z",
                                                    "person": None}
    assert [e["status"] for e in enrolled["enrollments"]] == ["active"]


def test_the_next_flip_by_time_alone(world: tuple[Api, ManualClock]) -> None:
    api, clock = world
    found = _why(api, "new", "fresh")
    [segment] = found["entry"]["segments"]
    assert segment["holds"] and segment["clauses"][0]["values"] == {
        "account.signed_up": "2026-02-20T09:00:00Z"}
    # Signed up Feb 20: "within the last 30 days" stops holding 30 days later.
    assert segment["next_flip"] == found["entry"]["next_flip"] == "2026-03-22T09:00:00Z"
    assert found["next_change"] == "2026-03-22T09:00:00Z"
    clock.set(datetime(2026, 3, 23, tzinfo=UTC))
    assert _why(api, "new", "fresh")["entry"]["segments"][0]["holds"] is False
    assert _why(api, "new", "fresh")["entry"]["next_flip"] is None


def test_unknown_account_or_journey(world: tuple[Api, ManualClock]) -> None:
    api, _ = world
    with pytest.raises(NotFound, match="no account 'nope'"):
        _why(api, "nope", "big-deal")
    with pytest.raises(NotFound, match="no journey 'nope'"):
        _why(api, "small", "nope")


def test_the_api_answers_why_and_404s(world: tuple[Api, ManualClock]) -> None:
    api, _ = world
    found = api.get("/api/accounts/small/explain", journey="big-deal")
    assert found == _why(api, "small", "big-deal")
    for path, journey, detail in [("/api/accounts/nope/explain", "big-deal", "no account 'nope'"),
                                  ("/api/accounts/small/explain", "nope", "no journey 'nope'")]:
        response = api.client.get(path, params={"journey": journey},
                                  headers={"Authorization": f"Bearer {api.key}"})
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == detail
    missing = api.client.get("/api/accounts/small/explain",
                             headers={"Authorization": f"Bearer {api.key}"})
    assert missing.status_code == 422
    operation = api.get("/openapi.json")["paths"]["/api/accounts/{account_id}/explain"]
    assert set(operation["get"]["responses"]) >= {"200", "404"}


def test_the_account_page_shows_why_not_for_each_journey(world: tuple[Api, ManualClock]) -> None:
    api, _ = world
    signed_in = api.client.post("/ui/login", data={"key": api.key}, follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text
    page = api.client.get("/ui/accounts/small")
    assert page.status_code == 200, page.text
    html = " ".join(page.text.split())
    panel = html[html.index('<section class="card" id="why">'):html.index("<h2>Timeline")]
    for journey in ("big-deal", "fresh", "trial"):
        assert f'data-journey="{journey}"' in panel
    assert ("Not enrolled: not in segment big: account employees is at least 1000 is false."
            in panel)
    assert ('<li class="clause fails deciding">✗ account employees is at least 1000 '
            '<span class="chip">account.employees = 50</span> <b>decided</b></li>') in panel
    assert "Not enrolled: no matching trial.started event has arrived." in panel
    assert "after 7d: allowed — never enrolled before" in panel
    assert "never by time alone" in panel
    enrolled = " ".join(api.client.get("/ui/accounts/new").text.split())
    assert "Enrolled since 2026-03-02T09:00:00Z" in enrolled
    assert '<dd class="next-change">Mar 22 2026, 09:00</dd>' in enrolled
