"""Per-key rate limits on ingestion (issue 13): an ingest key beyond its rate gets 429 with
Retry-After, on ``/v1/*`` and the bulk writes alike, by a token bucket (its own rate, else the
service's setting); other keys are not held; and every ingestion route has a size cap, found by
walking the route table."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from api_support import Api, open_api
from fastapi import FastAPI, routing

from itinera.api.auth import route_scopes
from itinera.api.body import BULK_BYTES
from itinera.api.rate_limits import BURST_SECONDS, RateLimits
from itinera.api.routes_ingest import MAX_BATCH
from itinera.api.routes_segment import MAX_MESSAGES
from itinera.storage import keys
from itinera.storage.keys import ApiKey

TRACK = {"type": "track", "event": "seen", "userId": "ada"}


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def _limits(api: Api, rate: float | None) -> Ticks:
    app = api.client.app
    assert isinstance(app, FastAPI)
    ticks = Ticks()
    app.state.rate_limits = RateLimits(rate, now=ticks)
    return ticks


def test_an_ingest_key_beyond_its_rate_gets_429_with_retry_after(api: Api) -> None:
    ticks = _limits(api, 5)  # the setting: 5 requests per second, a burst of 10
    _, key = api.new_key("website", "ingest")
    bearer = {"Authorization": f"Bearer {key}"}
    burst = int(5 * BURST_SECONDS)
    for n in range(burst):
        answer = api.client.post("/v1/track", json={**TRACK, "messageId": f"m{n}"},
                                 headers=bearer)
        assert answer.status_code == 200, (n, answer.text)
    refused = api.client.post("/v1/batch", json={"batch": [TRACK]}, headers=bearer)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert "5 requests per second" in refused.json()["detail"]
    bulk = api.client.post("/api/events", headers=bearer, json=[
        {"type": "seen", "account": "acme", "at": "2026-01-05T09:00:00Z"}])
    assert bulk.status_code == 429  # the same bucket for the bulk writes
    # The admin key is not held, nor are reads by other keys.
    assert api.post("/v1/track", {**TRACK, "messageId": "admin"}, wait=False).status_code == 200
    # A second later, five more requests have come due.
    ticks.at += 1
    for n in range(5):
        assert api.client.post("/v1/track", json={**TRACK, "messageId": f"later{n}"},
                               headers=bearer).status_code == 200
    assert api.client.post("/v1/track", json=TRACK, headers=bearer).status_code == 429


def test_a_key_s_own_rate_beats_the_setting(api: Api) -> None:
    _limits(api, None)  # no default limit
    _, free = api.new_key("free", "ingest")
    with api.service.intake.engine.begin() as connection:
        _, held = keys.create_api_key(connection, "held", api.service.clock.now(), "ingest",
                                      rate_limit=0.5)  # one request, then one every 2 s
    for _ in range(3):
        assert api.client.post("/v1/track", json=TRACK,
                               headers={"Authorization": f"Bearer {free}"}).status_code == 200
    held_bearer = {"Authorization": f"Bearer {held}"}
    assert api.client.post("/v1/track", json=TRACK, headers=held_bearer).status_code == 200
    refused = api.client.post("/v1/track", json=TRACK, headers=held_bearer)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "2"


def test_the_buckets_stay_bounded() -> None:
    ticks = Ticks()
    limits = RateLimits(1, now=ticks)
    for n in range(10_050):
        assert limits.take(ApiKey(f"k{n}", "k", None, None, "ingest")) is None
    assert len(limits._buckets) <= 10_000


def _ingestion_routes(app: FastAPI) -> list[str]:
    found = []
    for route in routing.iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is not None and route_scopes(dependant) == {"ingest"}:
            found += [f"{m} {route.path}" for m in sorted(route.methods or ())]
    return found


def test_every_ingestion_route_has_a_size_cap(api: Api) -> None:
    """Walked from the route table: each ingestion write refuses a body over its bytes (413)
    before storing anything, and the batches over their count."""
    app = api.client.app
    assert isinstance(app, FastAPI)
    routes = _ingestion_routes(app)
    assert {"POST /v1/batch", "POST /v1/track", "POST /api/events"} <= set(routes)
    too_big = b"[" + b"1," * (BULK_BYTES // 2 + 10) + b"1]"
    for route in routes:
        method, path = route.split(" ", 1)
        answer = api.client.request(method, re.sub(r"\{[^}]+\}", "1", path), content=too_big,
                                    headers={"Authorization": f"Bearer {api.key}",
                                             "Content-Type": "application/json"})
        assert answer.status_code == 413, (route, answer.status_code, answer.text[:200])
    # And by count: a Segment batch, a bulk batch.
    batch = api.client.post("/v1/batch", json={"batch": [{}] * (MAX_MESSAGES + 1)},
                            headers={"Authorization": f"Bearer {api.key}"})
    assert batch.status_code == 413 and f"at most {MAX_MESSAGES} messages" in batch.text
    bulk = api.client.post("/api/events", json=[{}] * (MAX_BATCH + 1),
                           headers={"Authorization": f"Bearer {api.key}"})
    assert bulk.status_code == 422 and f"at most {MAX_BATCH} records" in bulk.text
