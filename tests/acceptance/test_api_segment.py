"""The Segment-compatible tracking API, fed the wire format exactly as the SDKs send it
(``/v1/batch`` with ``batch`` and ``sentAt``, HTTP Basic with the key as the user name)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from api_support import WORKSPACE, Api, basic, open_api

from itinera.storage import schema as t


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def message(kind: str, message_id: str, **fields: Any) -> dict[str, Any]:
    """A message as analytics-python 2.x builds it."""
    return {"type": kind, "messageId": message_id, "timestamp": "2026-01-05T09:00:00.123+00:00",
            "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
            "integrations": {}, **fields}


def send(api: Api, batch: list[dict[str, Any]], *, wait: bool = True) -> Any:
    body = {"batch": batch, "sentAt": "2026-01-05T09:00:01.000+00:00", "writeKey": api.key}
    return api.client.post("/v1/batch", content=json.dumps(body),
                           params={"wait": "true"} if wait else {},
                           headers={**basic(api.key), "Content-Type": "application/json",
                                    "User-Agent": "analytics-python/2.4.0"})


def rows(api: Api, table: sa.Table) -> list[Any]:
    with api.service.intake.engine.connect() as connection:
        return list(connection.execute(sa.select(table)).all())


def test_identify_group_and_track_land(api: Api) -> None:
    response = send(api, [
        message("identify", "m1", userId="ada", traits={"email": "ada@acme.test",
                                                        "title": "CTO"}),
        message("group", "m2", userId="ada", groupId="acme",
                traits={"name": "Acme", "employees": 1200}),
        message("track", "m3", userId="ada", event="Report Viewed",
                properties={"report": "usage"}),
        message("page", "m4", userId="ada", name="Pricing", properties={"path": "/pricing"}),
    ], wait=False)
    assert response.status_code == 200 and response.json() == {"success": True}
    assert response.headers["x-itinera-rejected"] == "0"
    assert len(rows(api, t.inbox)) == 4  # durably stored before the answer, one per message
    api.service.work()

    [account] = rows(api, t.accounts)
    assert (account.id, account.attributes) == ("acme", {"name": "Acme", "employees": 1200})
    [person] = rows(api, t.people)
    assert (person.id, person.email, person.account) == ("ada", "ada@acme.test", "acme")
    assert person.attributes == {"title": "CTO"}
    events = {e.id: e for e in rows(api, t.events)}
    assert events["m3"].type == "Report Viewed" and events["m3"].person == "ada"
    assert events["m3"].properties == {"report": "usage"}
    assert events["m3"].at.isoformat().startswith("2026-01-05T09:00:00.123")
    assert events["m4"].type == "page"
    assert events["m4"].properties == {"path": "/pricing", "name": "Pricing"}


def test_a_repeated_message_id_is_ignored(api: Api) -> None:
    track = message("track", "m1", userId="ada", event="Signed Up", properties={"n": 1})
    identify = message("identify", "m2", userId="ada", traits={"plan": "free"})
    send(api, [track, identify], wait=False)
    send(api, [track, identify], wait=False)  # an SDK retry before the worker ran
    assert len(rows(api, t.inbox)) == 2
    api.service.work()
    send(api, [{**track, "properties": {"n": 2}}])  # a retry after it ran
    assert [(e.id, e.properties) for e in rows(api, t.events)] == [("m1", {"n": 1})]


def test_unmappable_messages_are_kept_with_their_reason(api: Api) -> None:
    response = send(api, [
        message("track", "m1", event="Anonymous Click", anonymousId="anon-1"),
        message("track", "m2", event="No One"),
        message("track", "m3", userId="ada", event="Late", timestamp="yesterday"),
        message("identify", "m4", userId="ada", traits={"email": "ada@acme.test"}),
        message("track", "m5", anonymousId="anon-2", event="Demo Requested",
                context={"groupId": "acme"}),
        message("teleport", "m6", userId="ada"),
    ])
    assert response.status_code == 200 and response.json() == {"success": True}
    assert response.headers["x-itinera-rejected"] == "4"
    kept = api.get("/api/rejected")
    assert kept["count"] == 4
    reasons = {item["message"]["messageId"]: item["reason"] for item in kept["items"]}
    assert set(reasons) == {"m1", "m2", "m3", "m6"}
    assert "anonymous" in reasons["m1"] and "no userId or anonymousId" in reasons["m2"]
    assert "timestamp" in reasons["m3"] and "teleport" in reasons["m6"]
    assert all(item["source"] == "segment" for item in kept["items"])
    # The rest of the batch is applied: the person, and the anonymous account event.
    assert [p.id for p in rows(api, t.people)] == ["ada"]
    [event] = rows(api, t.events)
    assert (event.id, event.account, event.person) == ("m5", "acme", None)
    assert api.get("/api/rejected", limit=1)["next"] == kept["items"][0]["id"]


def test_single_message_endpoints_bearer_gzip_and_account_events(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.key}", "Content-Type": "application/json"}
    track = {"userId": "bob", "event": "Invoice Paid", "messageId": "m1",
             "context": {"groupId": "globex"}, "properties": {"amount": 10}}
    response = api.client.post("/v1/track?wait=true", content=json.dumps(track), headers=headers)
    assert response.status_code == 200 and response.json() == {"success": True}
    [event] = rows(api, t.events)
    # bob is not known: the event names the account too, so it counts for it at once.
    assert (event.type, event.person, event.account) == ("Invoice Paid", "bob", "globex")

    group = gzip.compress(json.dumps({"userId": "bob", "groupId": "globex", "messageId": "m2",
                                      "traits": {"plan": "gold"}}).encode())
    response = api.client.post("/v1/group?wait=true", content=group,
                               headers={**headers, "Content-Encoding": "gzip"})
    assert response.status_code == 200
    [person] = rows(api, t.people)
    assert (person.id, person.account) == ("bob", "globex")
    api.client.post("/v1/alias?wait=true", headers=headers,
                    content=json.dumps({"userId": "bob", "previousId": "anon-9", "messageId": "m3"}))
    api.client.post("/v1/track?wait=true", headers=headers,
                    content=json.dumps({**track, "messageId": "m4"}))
    events = {e.id: e for e in rows(api, t.events)}
    assert events["m3"].type == "alias" and events["m3"].properties == {"previousId": "anon-9"}
    assert (events["m4"].person, events["m4"].account) == ("bob", None)  # bob is known now

    bad = api.client.post("/v1/batch", content=b"{not json", headers=headers)
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    assert api.client.post("/v1/batch", json={"batch": "no"}, headers=headers).status_code == 400


WELCOME = {"id": "welcome", "entry": {"segments": ["big"]}, "start": "hello",
           "nodes": {"hello": {"do": [{"send_email": {"template": "hello"}}]}}}


def test_a_group_enrolls_its_new_account_with_its_person(api: Api) -> None:
    """The group's account enters the journey's segment in the step that links its person,
    so the first email goes to that person (it went to nobody: the person came a step late)."""
    assert api.post("/api/inputs", [
        {"configure": {**WORKSPACE, "templates": [{"id": "hello", "subject": "Hello"}]}},
        {"publish": WELCOME}, {"enable": "welcome"}]).status_code == 200
    send(api, [
        message("identify", "m1", userId="ada", traits={"email": "ada@acme.test"}),
        message("group", "m2", userId="ada", groupId="acme", traits={"employees": 1200}),
    ])
    with api.service.store.transaction():
        effects = api.service.store.effects()
    assert [(e.channel, e.status, e.person, e.payload.get("to")) for e in effects] == [
        ("email", "pending", "ada", "ada@acme.test")]


def test_reserved_traits_map_to_itineras_fields(api: Api) -> None:
    assert api.post("/api/inputs", [{"configure": {
        "csms": [{"id": "ann", "name": "Ann", "email": "Ann@Vendor.test"}]}}]).status_code == 200
    response = send(api, [
        message("identify", "m1", userId="ada", traits={
            "email": "ada@acme.test", "firstName": "Ada", "lastName": "Lovelace", "title": "CTO",
            "phone": "+44 20 0000", "createdAt": "2025-03-01T10:00:00+01:00",
            "address": {"city": "London", "postalCode": "N1"}, "favoriteColor": "green"}),
        message("identify", "m2", userId="bob", traits={"name": "Bob van Dam"}),
        message("group", "m3", userId="ada", groupId="acme", traits={
            "name": "Acme", "employees": 1200, "industry": "Software", "plan": "enterprise",
            "website": "https://acme.test", "createdAt": "2024-06-01T00:00:00Z",
            "csm": "ann@vendor.test", "address": {"postalCode": "N1"}, "seatCount": 40}),
        message("group", "m4", userId="ada", groupId="globex", traits={"csm": "zed"}),
        message("group", "m5", anonymousId="x", groupId="initech",
                traits={"createdAt": "last year"}),
    ])
    assert response.headers["x-itinera-rejected"] == "2"
    reasons = {i["message"]["messageId"]: i["reason"] for i in api.get("/api/rejected")["items"]}
    assert reasons == {
        "m4": "traits.csm: no CSM 'zed' (the id or email of one of the workspace's csms)",
        "m5": "traits.createdAt: malformed 'last year' (ISO-8601 expected)"}
    people = {p.id: p for p in rows(api, t.people)}
    assert (people["ada"].email, people["ada"].account) == ("ada@acme.test", "acme")
    assert people["ada"].attributes == {
        "first_name": "Ada", "last_name": "Lovelace", "name": "Ada Lovelace", "title": "CTO",
        "phone": "+44 20 0000", "created_at": "2025-03-01T09:00:00Z",
        "address": {"city": "London", "postal_code": "N1"}, "favoriteColor": "green"}
    assert people["bob"].attributes == {"name": "Bob van Dam", "first_name": "Bob",
                                        "last_name": "van Dam"}
    [account] = rows(api, t.accounts)
    assert (account.id, account.csm) == ("acme", "ann")
    assert account.created_at.isoformat().startswith("2024-06-01T00:00:00")
    assert account.attributes == {
        "name": "Acme", "employees": 1200, "industry": "Software", "plan": "enterprise",
        "website": "https://acme.test", "address": {"postal_code": "N1"}, "seatCount": 40}


def test_a_person_a_waiting_group_links_is_known(api: Api) -> None:
    """The person of a group not applied yet counts as known: a buying-group member may name
    them, and a track of theirs does not need to name the account."""
    assert api.post("/api/inputs", [{"configure": WORKSPACE}]).status_code == 200
    send(api, [message("group", "m1", userId="ada", groupId="acme", traits={"name": "Acme"})],
         wait=False)
    member = {"add_to_buying_group": {"account": "acme", "solution": "crm", "person": "ada",
                                      "role": "champion"}}
    assert api.post("/api/inputs", [member], wait=False).status_code == 202
    send(api, [message("track", "m2", userId="ada", event="Report Viewed",
                       context={"groupId": "acme"})], wait=False)
    [track] = [r for r in rows(api, t.inbox) if r.kind == "event"]
    assert "account" not in track.payload
    api.service.work()
    [group] = rows(api, t.buying_groups)
    assert group.account == "acme"
