"""Journeys over the REST API: validation with places, publish and lifecycle, enrollments with
their history, tasks — on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from api_support import ONBOARDING, Api, open_api

from itinera.storage import schema as t


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def test_validate_lists_every_problem_with_its_place(api: Api) -> None:
    assert api.post("/api/inputs", [{"configure": {"csms": [{"id": "ann"}]}}]).status_code == 200
    broken = copy.deepcopy(ONBOARDING)
    broken["nodes"]["assign"]["next"] = "dne"
    broken["nodes"]["assign"]["do"][0]["assign_csm"]["pool"] = ["ann", "zoe"]
    broken["nodes"]["listen"]["wait_for"]["timeout"] = "soon"
    response = api.post("/api/journeys/validate", broken, wait=False)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:itinera:problem:invalid-input"
    assert problem["status"] == 422 and problem["title"] and "problem" in problem["detail"]
    places = {e["place"]: e["message"] for e in problem["errors"]}
    assert "no node 'dne'" in places["nodes.assign.next"]
    assert "zoe" in places["nodes.assign.do[0].assign_csm.pool[1]"]
    assert "nodes.listen.wait_for.timeout" in places
    # Publishing it is refused the same way, and nothing is stored.
    assert api.post("/api/journeys", broken).status_code == 422
    assert api.get("/api/journeys") == []

    good = api.post("/api/journeys/validate", ONBOARDING | {"nodes": {
        **ONBOARDING["nodes"], "assign": {"do": [{"assign_csm": {
            "strategy": "fixed", "csm": "ann"}}], "next": "kickoff"}}}, wait=False)
    assert good.status_code == 200 and good.json() == {"valid": True, "errors": []}


def test_publish_enable_then_an_event_enrolls_the_account(api: Api) -> None:
    api.setup_onboarding()
    [journey] = api.get("/api/journeys")
    assert journey["id"] == "onboarding" and journey["status"] == "enabled"
    assert journey["version"] == 1 and [v["version"] for v in journey["versions"]] == [1]
    assert api.get("/api/journeys/onboarding")["definition"]["start"] == "assign"

    assert api.post("/api/accounts", [{"id": "acme", "attributes": {"name": "Acme"}},
                                      {"id": "globex", "attributes": {"name": "Globex"}}]
                    ).status_code == 200
    response = api.post("/api/events", [
        {"id": "e1", "type": "trial.started", "account": "acme"},
        {"id": "e2", "type": "trial.started", "account": "globex"}], wait=False)
    assert response.status_code == 202 and response.json() == {"accepted": 2}
    api.service.work()

    page = api.get("/api/enrollments", journey="onboarding")
    assert [(e["account"], e["status"]) for e in page["items"]] == [
        ("acme", "active"), ("globex", "active")]
    assert page["next"] is None
    first = api.get("/api/enrollments", limit=1)
    assert [e["account"] for e in first["items"]] == ["acme"]
    rest = api.get("/api/enrollments", limit=1, after=first["next"])
    assert [e["account"] for e in rest["items"]] == ["globex"]
    assert api.get("/api/enrollments", account="globex", status="completed")["items"] == []

    enrollment_id = first["items"][0]["id"]
    detail = api.get(f"/api/enrollments/{enrollment_id}")
    assert detail["journey"] == "onboarding" and detail["path"][:2] == ["assign", "kickoff"]
    enrolled, *steps = detail["history"]
    assert enrolled["event"] == "enrolled"
    assert enrolled["trigger"]["event"]["type"] == "trial.started"
    assert [s["node"] for s in steps][:2] == ["assign", "kickoff"]
    assert steps[0]["actions"][0] == {"action": "assign_csm", "csm": "ann"}
    assert all(entry["at"].endswith("Z") for entry in detail["history"])

    # The kick-off ends the wait: completed.
    api.post("/api/events", [{"id": "k1", "type": "kickoff.done", "account": "acme"}])
    assert api.get(f"/api/enrollments/{enrollment_id}")["status"] == "completed"
    missing = api.client.get("/api/enrollments/999", headers={"Authorization": f"Bearer {api.key}"})
    assert missing.status_code == 404 and missing.json()["type"].endswith("not-found")


def test_pause_resume_disable_and_unknown_journeys(api: Api) -> None:
    api.setup_onboarding()
    api.post("/api/accounts", [{"id": "acme"}])
    assert api.post("/api/journeys/onboarding/pause", None).status_code == 200
    assert api.get("/api/journeys")[0]["status"] == "paused"
    api.post("/api/events", [{"id": "e1", "type": "trial.started", "account": "acme"}])
    assert api.get("/api/enrollments")["items"] == []  # paused: no new enrollments
    api.post("/api/journeys/onboarding/resume", None)
    api.post("/api/events", [{"id": "e2", "type": "trial.started", "account": "acme"}])
    assert [e["status"] for e in api.get("/api/enrollments")["items"]] == ["active"]
    api.post("/api/journeys/onboarding/disable", None)
    [enrollment] = api.get("/api/enrollments")["items"]
    assert (enrollment["status"], enrollment["reason"]) == ("unenrolled", "disabled")

    unknown = api.post("/api/journeys/nope/enable", None)
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    # A new version: running enrollments keep theirs, the journey moves on.
    v2 = ONBOARDING | {"name": "Onboarding v2"}
    assert api.post("/api/journeys", v2).status_code == 200
    [journey] = api.get("/api/journeys")
    assert journey["version"] == 2 and journey["name"] == "Onboarding v2"


def test_tasks_are_listed_completed_and_reassigned(api: Api) -> None:
    api.setup_onboarding()
    api.post("/api/accounts", [{"id": "acme", "attributes": {"name": "Acme"}},
                               {"id": "globex", "attributes": {"name": "Globex"}}])
    api.post("/api/events", [{"id": "e1", "type": "trial.started", "account": "acme"},
                             {"id": "e2", "type": "trial.started", "account": "globex"}])
    tasks = api.get("/api/tasks")["items"]
    assert [(t["title"], t["assignee"], t["status"]) for t in tasks] == [
        ("Kick-off with Acme", "ann", "open"), ("Kick-off with Globex", "bob", "open")]
    assert tasks[0]["due"].endswith("Z") and tasks[0]["journey"] == "onboarding"
    assert [t["account"] for t in api.get("/api/tasks", assignee="bob")["items"]] == ["globex"]

    done = api.post(f"/api/tasks/{tasks[0]['id']}/complete", None, wait=False)
    assert done.status_code == 200
    assert done.json()["status"] == "completed" and done.json()["completed_at"]
    again = api.post(f"/api/tasks/{tasks[0]['id']}/complete", None, wait=False).json()
    assert again["completed_at"] == done.json()["completed_at"]
    assert [t["account"] for t in api.get("/api/tasks", status="open")["items"]] == ["globex"]

    moved = api.post(f"/api/tasks/{tasks[1]['id']}/reassign", {"assignee": "ann"}, wait=False)
    assert moved.status_code == 200
    assert moved.json()["assignee"] == "ann"
    assert moved.json()["reassignments"][0]["from"] == "bob"
    assert len(api.get("/api/tasks", assignee="ann")["items"]) == 2
    assert api.post("/api/tasks/999/complete", None, wait=False).status_code == 404
    bad = api.post(f"/api/tasks/{tasks[1]['id']}/reassign", {"who": "x"}, wait=False)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert {e["place"] for e in bad.json()["errors"]} >= {"assignee"}


def _yaml(api: Api, path: str, text: str, **params: str) -> Any:
    return api.client.post(path, content=text.encode(), params=params, headers={
        "Authorization": f"Bearer {api.key}", "Content-Type": "application/yaml"})


def test_validate_and_publish_take_yaml_with_the_same_problems_and_places(api: Api) -> None:
    assert api.post("/api/inputs", [{"configure": {"csms": [{"id": "ann"}, {"id": "bob"}]}}]
                    ).status_code == 200
    assert _yaml(api, "/api/journeys/validate", yaml.safe_dump(ONBOARDING)).json() == {
        "valid": True, "errors": []}
    broken = copy.deepcopy(ONBOARDING)
    broken["nodes"]["assign"]["next"] = "dne"
    broken["nodes"]["listen"]["wait_for"]["timeout"] = "soon"
    as_json = api.post("/api/journeys/validate", broken, wait=False)
    as_yaml = _yaml(api, "/api/journeys/validate", yaml.safe_dump(broken))
    assert as_yaml.status_code == as_json.status_code == 422
    def errors(response: Any) -> list[tuple[str, str]]:  # safe_dump sorts the keys
        return sorted((e["place"], e["message"]) for e in response.json()["errors"])

    assert errors(as_yaml) == errors(as_json)
    assert {e["place"] for e in as_yaml.json()["errors"]} >= {"nodes.assign.next",
                                                             "nodes.listen.wait_for.timeout"}
    # As journey files are read: dates stay text, `next: 2024` names a node.
    published = _yaml(api, "/api/journeys", yaml.safe_dump(ONBOARDING), wait="true")
    assert published.status_code == 200, published.text
    assert [j["id"] for j in api.get("/api/journeys")] == ["onboarding"]


def test_yaml_that_cannot_be_read_is_400_with_its_line(api: Api) -> None:
    response = _yaml(api, "/api/journeys/validate", "id: j\nnodes: [unclosed\n")
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["place"].startswith("body:")
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}]\n" for i in range(8))
    response = _yaml(api, "/api/journeys", laughs)  # a billion laughs: refused, not built
    assert response.status_code == 400, response.text
    assert count_inbox(api) == 0
    unstorable = _yaml(api, "/api/journeys/validate", 'id: "a\\0b"\n')
    assert unstorable.status_code == 422, unstorable.text
    assert unstorable.json()["errors"][0]["place"] == "id"


def count_inbox(api: Api) -> int:
    with api.service.intake.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(t.inbox)).scalar_one())
