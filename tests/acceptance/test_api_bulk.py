"""Itinera's bulk API: batches of accounts, people, buying groups and events; a bad record
rejects the whole batch with its index and reason; event ids make repeats no-ops."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from api_support import ONBOARDING, Api, open_api

from itinera.storage import schema as t


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def count(api: Api, table: sa.Table) -> int:
    with api.service.intake.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def test_a_batch_of_each_kind_lands(api: Api) -> None:
    workspace = {"role_templates": [{"id": "standard", "roles": [{"name": "champion"}]}]}
    assert api.post("/api/inputs", [{"configure": workspace}]).status_code == 200
    response = api.post("/api/accounts", [
        {"id": "acme", "attributes": {"name": "Acme", "employees": 1200}, "csm": None},
        {"id": "globex", "created_at": "2025-01-01T00:00:00Z"}], wait=False)
    assert response.status_code == 202 and response.json() == {"accepted": 2}
    assert api.post("/api/people", [
        {"id": "ada", "account": "acme", "email": "ada@acme.test", "attributes": {"title": "CTO"}},
        {"id": "bob", "account": "acme"}], wait=False).status_code == 202
    # The people are still in the inbox: the group may name them.
    assert api.post("/api/buying-groups", [
        {"account": "acme", "solution": "Product X", "template": "standard",
         "members": [{"person": "ada", "role": "champion"}]}]).json() == {"accepted": 1}
    with api.service.intake.engine.connect() as connection:
        accounts = dict(connection.execute(sa.select(t.accounts.c.id, t.accounts.c.attributes)).all())
        people = dict(connection.execute(sa.select(t.people.c.id, t.people.c.email)).all())
        [group] = connection.execute(sa.select(t.buying_groups)).all()
    assert accounts == {"acme": {"name": "Acme", "employees": 1200}, "globex": {}}
    assert people == {"ada": "ada@acme.test", "bob": None}
    assert group.members == [{"person": "ada", "role": "champion"}]

    # Upserts merge.
    api.post("/api/accounts", [{"id": "acme", "attributes": {"plan": "gold"}}])
    with api.service.intake.engine.connect() as connection:
        merged = connection.execute(sa.select(t.accounts.c.attributes)
                                    .where(t.accounts.c.id == "acme")).scalar()
    assert merged == {"name": "Acme", "employees": 1200, "plan": "gold"}


def test_a_bad_record_rejects_the_batch_with_its_index_and_reason(api: Api) -> None:
    response = api.post("/api/accounts", [
        {"id": "acme"}, {"attributes": {"name": "No id"}}, {"id": "x", "created_at": "soon"},
        {"id": "y", "colour": "red"}, "not a record"])
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and "4 problems" in problem["detail"]
    errors = {e["place"]: e["message"] for e in problem["errors"]}
    assert set(errors) == {"[1].id", "[2].created_at", "[3].colour", "[4]"}
    assert "soon" in errors["[2].created_at"]
    assert count(api, t.inbox) == 0 and count(api, t.accounts) == 0  # nothing of it stored

    events = api.post("/api/events", [{"id": "e1", "type": "x", "account": "acme"},
                                      {"id": "e2", "account": "acme"},
                                      {"id": "e3", "type": "x"},
                                      {"id": "e4", "type": "x", "account": "a", "at": "Monday"}])
    places = [e["place"] for e in events.json()["errors"]]
    assert places[0] == "[1].type" and places[1].startswith("[2]") and places[2] == "[3].at"
    assert count(api, t.inbox) == 0 and count(api, t.events) == 0

    groups = api.post("/api/buying-groups", [
        {"account": "nope", "solution": "X", "members": [{"person": "ghost", "role": "r"}]},
        {"account": "nope", "solution": "X", "status": "Engaged", "members": []}])
    assert {e["place"] for e in groups.json()["errors"]} == {
        "[0].account", "[0].members[0].person", "[1].account", "[1].status", "[1].members"}
    people = api.post("/api/people", [{"id": "ada", "email": "ada@acme.test"},
                                      {"id": "bob", "email": "not-an-email"},
                                      {"id": "cy", "email": "cy @acme.test"}])
    assert [(e["place"], e["message"]) for e in people.json()["errors"]] == [
        ("[1].email", "not an email address: 'not-an-email'"),
        ("[2].email", "not an email address: 'cy @acme.test'")]
    untyped = api.post("/api/events", [{"id": "e9", "type": "", "account": "acme"}])
    assert [e["place"] for e in untyped.json()["errors"]] == ["[0].type"]
    assert count(api, t.inbox) == 0
    not_a_list = api.post("/api/people", {"id": "ada"})
    assert not_a_list.status_code == 422 and not_a_list.json()["errors"][0]["place"] == ""


def test_event_ids_make_repeats_no_ops(api: Api) -> None:
    api.post("/api/accounts", [{"id": "acme"}])
    batch = [{"id": "e1", "type": "login", "account": "acme", "at": "2026-01-05T09:00:00Z",
              "properties": {"n": 1}}]
    assert api.post("/api/events", batch).status_code == 200
    assert api.post("/api/events", batch, wait=False).status_code == 202
    api.post("/api/events", batch)  # applied already: the engine ignores the known id
    with api.service.intake.engine.connect() as connection:
        rows = connection.execute(sa.select(t.events.c.id, t.events.c.properties)).all()
    assert [(r.id, r.properties) for r in rows] == [("e1", {"n": 1})]


def test_raw_inputs_are_checked_before_anything_is_stored(api: Api) -> None:
    response = api.post("/api/inputs", [
        {"upsert_account": {"id": "acme"}},
        {"event": {"account": "acme"}},
        {"teleport": {}},
        {"enable": "nope"},
        {"publish": {**ONBOARDING, "start": "dne"}},
        {"add_to_buying_group": {"account": "acme", "solution": "X", "person": "ghost",
                                 "role": "r"}},
    ])
    assert response.status_code == 422
    places = [e["place"] for e in response.json()["errors"]]
    assert "[1].event.type" in places and any(p.startswith("[2]") for p in places)
    assert "[3].enable" in places and "[4].publish.start" in places
    assert "[5].add_to_buying_group.person" in places
    assert "[5].add_to_buying_group.account" not in places  # upserted earlier in the batch
    assert count(api, t.inbox) == 0

    # A journey published earlier in the same batch may be enabled by it.
    workspace = {"csms": [{"id": "ann"}, {"id": "bob"}]}
    ok = api.post("/api/inputs", [{"configure": workspace}, {"publish": ONBOARDING},
                                  {"enable": "onboarding"}])
    assert ok.status_code == 200 and ok.json() == {"accepted": 3}
    assert api.get("/api/journeys")[0]["status"] == "enabled"
