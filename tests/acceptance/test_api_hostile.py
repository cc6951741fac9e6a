"""Hostile input over the API, on SQLite and PostgreSQL: values no store holds, dates and
durations out of range, nesting, bare numbers, oversized and compressed bodies. Each is a 4xx
naming its place (or, in a Segment batch, a message kept aside while the rest is applied),
never a server error, and nothing of a refused request is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from api_support import Api, basic, open_api

from itinera.storage import schema as t


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def post_raw(api: Api, path: str, body: str | bytes, **headers: str) -> Any:
    return api.client.post(path, content=body, headers={
        **basic(api.key), "Content-Type": "application/json", **headers})


def count(api: Api, table: sa.Table) -> int:
    with api.service.intake.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def track(message_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": "track", "messageId": message_id, "userId": "ada", "event": "Signed Up",
            "context": {"groupId": "acme"}, **fields}


BIG = 2**64  # past every store's integers (SQLite's, PostgreSQL's bigint, orjson)

# (path, raw JSON body, the place of the problem)
REFUSED = [
    ("/api/accounts", '[{"id": "a", "attributes": {"n": ' f"{BIG}" "}}]", "[0].attributes.n"),
    ("/api/accounts", '[{"id": "a", "attributes": {"n": ' f"{2**63}" "}}]", "[0].attributes.n"),
    ("/api/events", '[{"id": "e", "type": "x", "account": "a", "properties": {"n": '
     f"-{BIG}" "}}]", "[0].properties.n"),
    ("/api/accounts", '[{"id": "a", "attributes": {"x": "\\ud800"}}]', "[0].attributes.x"),
    ("/api/people", '[{"id": "p\\udfff"}]', "[0].id"),
    ("/api/accounts", '[{"id": "a\\u0000"}]', "[0].id"),
    ("/api/accounts", '[{"id": "a", "attributes": {"x": "nul \\u0000 here"}}]',
     "[0].attributes.x"),
    ("/api/inputs", '[{"event": {"id": "e", "type": "x", "account": "a", "at": 1e999}}]',
     "[0].event.at"),
    ("/api/inputs", '[{"event": {"id": "e", "type": "x", "account": "a", "at": NaN}}]', ""),
]


@pytest.mark.parametrize(("path", "body", "place"), REFUSED)
def test_values_no_store_holds_are_refused_with_their_place(api: Api, path: str, body: str,
                                                            place: str) -> None:
    response = post_raw(api, path, body)
    if place:
        assert response.status_code == 422, response.text
        assert place in [e["place"] for e in response.json()["errors"]], response.text
    else:  # not JSON (NaN, which Python's reader would take)
        assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert count(api, t.inbox) == 0


def test_a_key_no_store_holds_is_refused(api: Api) -> None:
    response = post_raw(api, "/api/accounts", '[{"id": "a", "attributes": {"k\\u0000": 1}}]')
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["place"] == "[0].attributes" and "NUL" in error["message"]


def test_every_problem_of_a_batch_is_listed_and_nothing_stored(api: Api) -> None:
    body = '[{"id": "ok"}, {"id": "a", "attributes": {"n": ' f"{BIG}" '}}, {"id": "b\\u0000"}]'
    response = post_raw(api, "/api/accounts?wait=true", body)
    assert response.status_code == 422
    assert [e["place"] for e in response.json()["errors"]] == ["[1].attributes.n", "[2].id"]
    assert count(api, t.inbox) == count(api, t.accounts) == 0


def test_durations_and_dates_out_of_range_are_refused(api: Api) -> None:
    journey = {"id": "j", "entry": {"event": {"type": "t"}}, "start": "w",
               "nodes": {"w": {"wait": "-99999999999999999999999d", "next": "e"},
                         "e": {"end": True}}}
    response = api.post("/api/journeys/validate", journey)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["place"] == "nodes.w.wait" and "at most 100 years" in error["message"]
    response = api.post("/api/events", [{"id": "e", "type": "x", "account": "a",
                                         "at": "0001-01-01T00:00:00Z"}])
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["place"] == "[0].at"
    assert count(api, t.inbox) == 0


@pytest.mark.parametrize("wrap", ["not", "all"])
def test_conditions_nested_300_deep_are_refused(api: Api, wrap: str) -> None:
    condition: dict[str, Any] = {"account.employees": {"gte": 1}}
    for _ in range(300):
        condition = {"not": condition} if wrap == "not" else {"all": [condition]}
    journey = {"id": "j", "entry": {"event": {"type": "t"}}, "start": "s",
               "nodes": {"s": {"split": [{"when": condition, "next": "e"}, {"else": "e"}]},
                         "e": {"end": True}}}
    for path in ("/api/journeys/validate", "/api/journeys"):
        response = api.post(path, journey)
        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert error["place"].startswith("nodes.s.split[0].when")
        assert "nested deeper than 64 levels" in error["message"]
    assert count(api, t.inbox) == 0


def test_text_parameters_no_store_holds_are_refused(api: Api) -> None:
    for path in ("/api/accounts/a%00b", "/api/accounts?q=a%00", "/api/rejected?source=%00"):
        response = api.client.get(path, headers=basic(api.key))
        assert response.status_code == 422, (path, response.text)
        assert "NUL" in response.json()["errors"][0]["message"]


def test_a_bad_message_is_kept_aside_and_the_rest_of_its_segment_batch_applied(
        api: Api) -> None:
    batch = [
        track("good"),
        track("year-one", timestamp="0001-01-01T00:00:00Z"),
        track("huge-time", timestamp=10**30),
        track("big", properties={"n": BIG}),
        track("nul\x00"),
        track("lone", properties={"x": "\ud800"}),
        {**track("deep"), "properties": json.loads("[" * 70 + "]" * 70)},
    ]
    body = json.dumps({"batch": batch})  # the lone surrogate as \ud800, as an SDK writes it
    response = post_raw(api, "/v1/batch?wait=true", body)
    assert response.status_code == 200, response.text
    assert response.headers["x-itinera-rejected"] == "6"
    with api.service.intake.engine.connect() as connection:
        assert connection.execute(sa.select(t.events.c.id)).scalars().all() == ["good"]
    kept = api.get("/api/rejected")
    reasons = {item["message"]["messageId"]: item["reason"] for item in kept["items"]}
    assert "timestamp: malformed '0001-01-01T00:00:00Z'" in reasons["year-one"]
    assert "timestamp" in reasons["huge-time"]
    assert "properties.n: the integer 18446744073709551616 is out of range" in reasons["big"]
    assert "messageId: text with a NUL character" in reasons["nul\ufffd"]
    assert "properties.x: text with a lone UTF-16 surrogate" in reasons["lone"]
    assert "nested deeper than 64 levels" in reasons["deep"]
    # Kept as it came but for what no store holds: that part as text saying what it was.
    big = next(i["message"] for i in kept["items"] if i["message"]["messageId"] == "big")
    assert big["properties"] == {"n": str(BIG)}


def test_a_repeated_batch_keeps_its_bad_messages_once(api: Api) -> None:
    body = json.dumps({"batch": [track("good"), track("bad", timestamp="yesterday")]})
    for _ in range(2):  # an SDK's retry
        assert post_raw(api, "/v1/batch", body).status_code == 200
    assert count(api, t.inbox) == 1
    assert api.get("/api/rejected")["count"] == 1


@pytest.mark.parametrize("bare", ["0", "1.5", "-7", "true", "null", '"text"'])
def test_bare_values_as_messages_are_kept_and_read_back(api: Api, bare: str) -> None:
    response = post_raw(api, "/v1/batch", '{"batch": [' + bare + "]}")
    assert response.status_code == 200, response.text
    for _ in range(2):  # read back on every later GET (SQLite stored `0` as a number)
        [item] = api.get("/api/rejected")["items"]
        assert item["message"] == json.loads(bare)
        assert item["reason"] == "a message is a JSON object"


def test_a_batch_context_no_store_holds_refuses_the_batch(api: Api) -> None:
    response = post_raw(api, "/v1/batch", json.dumps(
        {"batch": [track("m1")], "context": {"groupId": "a\x00"}}))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["place"] == "context.groupId"
    assert count(api, t.inbox) == count(api, t.rejected) == 0


def test_ids_beyond_the_stores_integers_are_refused(api: Api) -> None:
    big = 2**70  # what schemathesis found: a server error on both backends
    for method, path in [("get", f"/api/enrollments/{big}"), ("post", f"/api/tasks/{big}/complete"),
                         ("get", f"/api/deliveries/{2**31}"), ("get", f"/api/deliveries?after={big}"),
                         ("get", f"/api/rejected?after={big}"), ("get", f"/api/tasks?after={big}")]:
        response = api.client.request(method, path, headers=basic(api.key))
        assert response.status_code == 422, (path, response.text)
    assert api.client.get("/api/deliveries/2147483647", headers=basic(api.key)).status_code == 404
