"""The impact preview and a publish with moves over the API, on SQLite and PostgreSQL: the
preview's counts by node are the store's, its new due instants are the engine's, and the
publish moves what it previewed."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from api_support import Api, open_api

from itinera.runtime.clock import ManualClock
from itinera.storage import schema as t
from itinera.timeutil import parse_instant

START = parse_instant("2026-01-05T09:00:00Z")
V1: dict[str, Any] = {
    "id": "nurture",
    "entry": {"segments": ["members"]},
    "start": "route",
    "nodes": {
        "route": {"split": [{"when": {"account.fast": True}, "next": "ask"},
                            {"else": "first"}]},
        "first": {"wait": "10d", "next": "ask"},
        "ask": {"wait_for": {"events": ["replied"], "scope": "account", "timeout": "5d"},
                "next": "done", "on_timeout": "done"},
        "done": {"end": True},
    },
}


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    clock = ManualClock(START)
    with open_api(database_url, clock) as api:
        assert api.post("/api/inputs", [{"configure": {"segments": [
            {"id": "members", "when": {"account.member": True}}]}}]).status_code == 200
        assert api.post("/api/journeys", V1).status_code == 200
        assert api.post("/api/journeys/nurture/enable", None).status_code == 200
        accounts = [{"id": f"a{i}", "attributes": {"member": True, "fast": i >= 3}}
                    for i in range(5)]
        assert api.post("/api/accounts", accounts).status_code == 200
        clock.set(START + timedelta(days=1))
        yield api


def _v2() -> dict[str, Any]:
    v2 = copy.deepcopy(V1)
    v2["nodes"]["first"] = {"wait": "12h", "next": "call"}  # over already for those at 0s
    v2["nodes"]["call"] = {"wait": "1d", "next": "ask"}  # a new node
    v2["nodes"]["ask"]["wait_for"]["timeout"] = "20d"
    return v2


def _store_counts(api: Api) -> dict[tuple[int, str], int]:
    with api.service.intake.engine.connect() as connection:
        rows = connection.execute(sa.select(t.enrollments.c.version, t.enrollments.c.state)
                                  .where(t.enrollments.c.status == "active"))
        counts: dict[tuple[int, str], int] = {}
        for row in rows:
            for node in {k["node"] for k in row.state["tokens"]}:
                counts[(row.version, node)] = counts.get((row.version, node), 0) + 1
    return counts


def test_the_preview_counts_what_the_store_holds_and_stays_by_default(api: Api) -> None:
    response = api.post("/api/journeys/nurture/impact", _v2(), wait=False)
    assert response.status_code == 200, response.text
    found = response.json()
    assert (found["current_version"], found["next_version"]) == (1, 2)
    groups = {(g["version"], g["node"]): g for g in found["groups"]}
    assert {k: g["enrollments"] for k, g in groups.items()} == _store_counts(api) == {
        (1, "first"): 3, (1, "ask"): 2}
    assert all(g["action"] == "stay" for g in found["groups"])
    assert found["totals"] == {"active": 5, "moving": 0, "staying": 5}


def test_a_publish_moves_what_the_preview_showed(api: Api) -> None:
    moves = {"move": ["ask=ask"], "move_matching": "true"}
    preview = api.client.post("/api/journeys/nurture/impact", json=_v2(), params=moves,
                              headers={"Authorization": f"Bearer {api.key}"}).json()
    groups = {g["node"]: g for g in preview["groups"]}
    assert groups["first"]["action"] == "move" and groups["first"]["to"] == "first"
    # Entered first at 0s: version 2's 12h wait is over, so all three go on at the move.
    assert groups["first"]["due_now"] == 3
    assert groups["first"]["new_due"] == {"first": "2026-01-06T09:00:00Z",
                                          "last": "2026-01-06T09:00:00Z"}
    assert groups["ask"]["new_due"]["first"] == "2026-01-25T09:00:00Z"  # 0s + 20d
    assert preview["totals"] == {"active": 5, "moving": 5, "staying": 0}

    response = api.client.post("/api/journeys", json=_v2(),
                               params=moves | {"wait": "true"},
                               headers={"Authorization": f"Bearer {api.key}"})
    assert response.status_code == 200, response.text
    # The three at first went on at once to the new node call; the two at ask moved there.
    assert _store_counts(api) == {(2, "call"): 3, (2, "ask"): 2}


def test_moves_the_new_version_cannot_take_are_refused_with_their_place(api: Api) -> None:
    response = api.client.post("/api/journeys", json=_v2(),
                               params={"move": ["first=done"], "wait": "true"},
                               headers={"Authorization": f"Bearer {api.key}"})
    assert response.status_code == 422
    places = [e["place"] for e in response.json()["errors"]]
    assert places == ["[0].moves.first"]
    assert _store_counts(api) == {(1, "first"): 3, (1, "ask"): 2}  # nothing published
    bad = api.client.post("/api/journeys/nurture/impact", json=_v2(), params={"move": ["x"]},
                          headers={"Authorization": f"Bearer {api.key}"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["place"] == "move"
