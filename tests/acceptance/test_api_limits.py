"""The API's limits (docs/runtime.md, Limits), on SQLite and PostgreSQL: bodies and batches
beyond them are answered 413 with the limit, gzip included, before anything is stored; a large
Segment batch is stored a chunk per transaction, and a retry after a failure part way stores
nothing twice."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from api_support import Api, basic, open_api
from fastapi.testclient import TestClient

from itinera.api.body import BULK_BYTES
from itinera.api.context import CHUNK
from itinera.api.routes_segment import BATCH_BYTES, MAX_MESSAGES, MESSAGE_BYTES
from itinera.storage import schema as t


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def post_raw(api: Api, path: str, body: bytes, **headers: str) -> Any:
    return api.client.post(path, content=body, headers={
        **basic(api.key), "Content-Type": "application/json", **headers})


def count(api: Api, table: sa.Table) -> int:
    with api.service.intake.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def track(n: int, **fields: Any) -> dict[str, Any]:
    return {"type": "track", "messageId": f"m{n}", "userId": "ada", "event": "Seen",
            "context": {"groupId": "acme"}, **fields}


def assert_too_large(response: Any, says: str) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:itinera:problem:too-large"
    assert says in problem["detail"], problem


def test_a_segment_batch_over_its_bytes_is_refused(api: Api) -> None:
    padding = "x" * (BATCH_BYTES + 1)
    body = json.dumps({"batch": [track(1, properties={"pad": padding})]}).encode()
    assert_too_large(post_raw(api, "/v1/batch", body), f"at most {BATCH_BYTES} bytes")
    # The same, compressed to a few kilobytes: measured as it is once decompressed.
    squeezed = gzip.compress(body)
    assert len(squeezed) < 10_000
    assert_too_large(post_raw(api, "/v1/batch", squeezed, **{"Content-Encoding": "gzip"}),
                     f"decompressed, is larger than this endpoint takes: at most {BATCH_BYTES}")
    assert count(api, t.inbox) == count(api, t.rejected) == 0


def test_a_segment_batch_over_its_messages_is_refused(api: Api) -> None:
    body = json.dumps({"batch": [{}] * (MAX_MESSAGES + 1)}).encode()
    assert len(body) < BATCH_BYTES  # small messages: the count is what bounds it
    assert_too_large(post_raw(api, "/v1/batch", body),
                     f"at most {MAX_MESSAGES} messages, this one has {MAX_MESSAGES + 1}")
    assert count(api, t.inbox) == count(api, t.rejected) == 0


def test_a_message_over_its_bytes(api: Api) -> None:
    big = track(1, properties={"pad": "x" * MESSAGE_BYTES})
    assert_too_large(post_raw(api, "/v1/track", json.dumps(big).encode()),
                     f"at most {MESSAGE_BYTES} bytes")
    # In a batch, it is kept aside and the rest applied.
    response = post_raw(api, "/v1/batch", json.dumps({"batch": [big, track(2)]}).encode())
    assert response.status_code == 200 and response.headers["x-itinera-rejected"] == "1"
    [kept] = api.get("/api/rejected")["items"]
    assert kept["reason"] == f"a message is at most {MESSAGE_BYTES} bytes"
    assert count(api, t.inbox) == 1


def test_a_bulk_batch_over_its_bytes_is_refused(api: Api) -> None:
    records = [{"id": f"a{n}", "attributes": {"pad": "x" * 1000}}
               for n in range(BULK_BYTES // 1000 + 1)]
    body = json.dumps(records).encode()
    assert_too_large(post_raw(api, "/api/accounts", body), f"at most {BULK_BYTES} bytes")
    assert count(api, t.inbox) == 0


def test_a_large_segment_batch_is_stored_a_chunk_at_a_time_and_retried_once(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    messages = [track(n) for n in range(CHUNK * 2 + 10)]
    messages += [track(10_000 + n, timestamp="yesterday") for n in range(CHUNK + 3)]
    body = json.dumps({"batch": messages}).encode()
    submit, calls = api.service.submit, []

    def failing_second(entries: list[Any], *args: Any, **kwargs: Any) -> int:
        calls.append(len(entries))
        if len(calls) == 2:
            raise sa.exc.OperationalError("INSERT", {}, Exception("the database went away"))
        return submit(entries, *args, **kwargs)

    monkeypatch.setattr(api.service, "submit", failing_second)
    client = TestClient(api.client.app, raise_server_exceptions=False)
    assert post_raw(Api(api.service, client, api.key), "/v1/batch", body).status_code == 500
    assert calls == [CHUNK, CHUNK]  # each chunk its own transaction: the first one stays
    assert count(api, t.inbox) == CHUNK and count(api, t.rejected) == 0

    response = post_raw(api, "/v1/batch", body)  # the SDK's retry
    assert response.status_code == 200, response.text
    assert calls[2:] == [CHUNK, CHUNK, 10]
    assert count(api, t.inbox) == CHUNK * 2 + 10
    assert count(api, t.rejected) == CHUNK + 3
    assert post_raw(api, "/v1/batch", body).status_code == 200  # and again: nothing new
    assert count(api, t.inbox) == CHUNK * 2 + 10
    assert count(api, t.rejected) == CHUNK + 3


def test_openapi_declares_the_problems_operations_answer(api: Api) -> None:
    document = api.get("/openapi.json")
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}
    operations = {(method, path): operation for path, item in document["paths"].items()
                  for method, operation in item.items()}
    expected = {  # operation: problems it answers (and the test beside it shows)
        ("post", "/v1/batch"): {"400", "401", "413", "422"},
        ("post", "/api/events"): {"400", "401", "413", "422"},
        ("post", "/api/journeys/validate"): {"400", "401", "413", "422"},
        ("get", "/api/accounts/{account_id}"): {"401", "404", "422"},
        ("post", "/api/journeys/{journey_id}/enable"): {"401", "404", "422"},
        ("get", "/api/rejected"): {"401", "422"},
    }
    for key, codes in expected.items():
        responses = operations[key]["responses"]
        assert codes <= set(responses), (key, sorted(responses))
        for code in codes:
            assert responses[code]["content"] == problem, (key, code)
    for key, operation in operations.items():  # each one as it is
        responses = set(operation["responses"])
        assert ("requestBody" in operation) == ({"400", "413"} <= responses), key
        has_path = any(p["in"] == "path" for p in operation.get("parameters", []))
        assert not has_path or "404" in responses, key
        keyed = operation.get("security") != []
        assert keyed == ("401" in responses), key
    assert operations[("get", "/health")]["security"] == []
    assert operations[("post", "/unsubscribe")]["security"] == []
    limits = operations[("post", "/v1/batch")]
    assert limits["x-itinera-max-bytes"] == BATCH_BYTES
    # And the API answers them as declared.
    assert api.client.get("/api/accounts/nobody", headers=basic(api.key)).status_code == 404
    assert post_raw(api, "/api/journeys/validate", b"{not json").status_code == 400
