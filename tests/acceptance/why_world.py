"""A small live world for Why (not)? (``runtime.why``): two segments (one that time alone
flips), a journey entered by segment with re-entry after 7 days, goal and exit; one entered by
a clock-dependent segment; one entered by an event with a ``where``; three accounts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api_support import Api

__all__ = ["BIG", "START", "build_world"]

START = datetime(2026, 3, 2, 9, tzinfo=UTC)

WORKSPACE = {"segments": [
    {"id": "big", "when": {"all": [{"account.employees": {"gte": 1000}},
                                   {"account.tier": {"eq": "gold"}}]}},
    {"id": "recent", "when": {"account.signed_up": {"within_last": "30d"}}},
]}
BIG = {"id": "big-deal", "name": "Big deal", "entry": {"segments": ["big"], "reenroll": {"after": "7d"}},
       "exit": {"when": {"account.churned": {"eq": True}}},
       "goal": {"when": {"account.tier": {"eq": "platinum"}}},
       "start": "hold", "nodes": {"hold": {"wait": "60d", "next": "done"}, "done": {"end": True}}}
RECENT = {"id": "fresh", "entry": {"segments": ["recent"]},
          "start": "hold", "nodes": {"hold": {"wait": "90d", "next": "done"}, "done": {"end": True}}}
TRIAL = {"id": "trial", "entry": {"event": {"type": "trial.started",
                                            "where": {"properties.plan": {"eq": "pro"}}}},
         "start": "hold", "nodes": {"hold": {"wait": "60d", "next": "done"}, "done": {"end": True}}}
ACCOUNTS = [
    {"id": "inside", "attributes": {"employees": 5000, "tier": "gold"}},
    {"id": "small", "attributes": {"employees": 50, "tier": "gold"}},
    {"id": "new", "attributes": {"signed_up": "2026-02-20T09:00:00Z"}},
]


def _ok(api: Api, path: str, body: Any) -> None:
    response = api.post(path, body)
    assert response.status_code == 200, response.text




def build_world(api: Api) -> None:
    """Configure, publish and enable the three journeys, add the accounts and a free trial."""
    _ok(api, "/api/inputs", [{"configure": WORKSPACE}])
    for journey in (BIG, RECENT, TRIAL):
        _ok(api, "/api/journeys", journey)
        _ok(api, f"/api/journeys/{journey['id']}/enable", None)
    _ok(api, "/api/accounts", ACCOUNTS)
    _ok(api, "/api/events", [
        {"id": "t1", "type": "trial.started", "account": "small", "at": "2026-03-02T09:00:00Z",
         "properties": {"plan": "free"}}])
