"""A small world ingested through the REST API (each write with ``?wait=true``) for the tests of
reading accounts back over the API and the CLI, and the documents those reads must give."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api_support import Api

__all__ = ["ACME", "P1", "P2", "START", "build_world"]

START = datetime(2026, 3, 2, 9, tzinfo=UTC)  # the service's (manual) clock: when inputs apply

_WORKSPACE = {
    "csms": [{"id": "ann", "name": "Ann"}],
    "playbooks": ["onboarding"],
    "segments": [{"id": "big", "when": {"account.employees": {"gte": 1000}}}],
    "role_templates": [{"id": "enterprise", "roles": [
        {"name": "Decision Maker", "weight": "vital"}, {"name": "Product SME", "weight": "important"},
        {"name": "Product Analyst", "weight": "normal"}]}],
}
# On `trial.started`: a CSM, a playbook, a moment and the buying group's status, then listen.
_WELCOME = {
    "id": "welcome", "entry": {"event": {"type": "trial.started"}}, "start": "greet",
    "nodes": {
        "greet": {"do": [{"assign_csm": {"strategy": "fixed", "csm": "ann"}},
                         {"assign_playbook": "onboarding"},
                         {"add_moment": {"type": "Milestone", "description": "Trial of {{ account.name }}"}},
                         {"set_buying_group_status": {"solution": "Product X", "status": "Engaged"}}],
                  "next": "listen"},
        "listen": {"wait_for": {"events": ["kickoff.done"], "scope": "account", "timeout": "7d"},
                   "next": "done", "on_timeout": "done"},
        "done": {"end": True},
    },
}
_ACCOUNTS = [
    {"id": "acme", "attributes": {"name": "Acme", "employees": 5000, "tier": "gold"},
     "created_at": "2026-01-02T03:04:05Z"},
    {"id": "acme-labs", "attributes": {"name": "Initech"}, "created_at": "2026-01-03T00:00:00Z"},
    {"id": "globex", "attributes": {"name": "Globex ACME Holdings"}, "created_at": "2026-01-04T00:00:00Z"},
    {"id": "pure", "attributes": {"name": "100%_Pure"}, "created_at": "2026-01-05T00:00:00Z"},
]
P1 = {"id": "p1", "account": "acme", "email": "cto@acme.test", "attributes": {"title": "CTO"},
      "score": 90.0, "unsubscribed": False}
P2 = {"id": "p2", "account": "acme", "email": "sme@acme.test", "attributes": {},
      "score": 30.0, "unsubscribed": True}
_P3 = {"id": "p3", "account": "globex", "email": None, "attributes": {}, "score": 0.0,
       "unsubscribed": False}
_EVENTS = [
    {"id": "e1", "type": "trial.started", "account": "acme", "at": "2026-03-01T10:00:00Z",
     "properties": {"plan": "pro"}},
    {"id": "e2", "type": "page.viewed", "person": "p1", "at": "2026-03-01T11:00:00Z",
     "properties": {"path": "/pricing"}},
    {"id": "e3", "type": "page.viewed", "account": "globex", "at": "2026-03-01T12:00:00Z"},
]

# What GET /api/accounts/acme answers, but for its enrollments (read from /api/enrollments).
ACME: dict[str, Any] = {
    "id": "acme", "attributes": {"name": "Acme", "employees": 5000, "tier": "gold"},
    "csm": "ann", "playbooks": ["onboarding"],
    "moments": [{"type": "Milestone", "description": "Trial of Acme", "at": "2026-03-02T09:00:00Z"}],
    "created_at": "2026-01-02T03:04:05Z",
    "people": [P1, P2],
    # Engagement: Decision Maker 90 x 100/240 + Product SME 30 x 80/240 = 47.5; two roles of three.
    "buying_groups": [{"solution": "Product X", "template": "enterprise", "status": "Engaged",
                       "members": [{"person": "p1", "role": "Decision Maker"},
                                   {"person": "p2", "role": "Product SME"}],
                       "engagement_score": 47.5, "completeness_score": 66.67}],
    "segments": ["big"],
}


def _ok(api: Api, path: str, body: Any) -> None:
    response = api.post(path, body)
    assert response.status_code == 200, response.text


def build_world(api: Api) -> None:
    """Four accounts, three people, a buying group, three events and an enrollment of acme."""
    _ok(api, "/api/inputs", [{"configure": _WORKSPACE}])
    _ok(api, "/api/journeys", _WELCOME)
    _ok(api, "/api/journeys/welcome/enable", None)
    _ok(api, "/api/accounts", _ACCOUNTS)
    _ok(api, "/api/people", [{k: v for k, v in p.items() if v is not None} for p in (P1, P2, _P3)])
    members = ACME["buying_groups"][0]["members"]
    _ok(api, "/api/buying-groups", [{"account": "acme", "solution": "Product X", "template": "enterprise",
                                     "members": members}])
    _ok(api, "/api/events", _EVENTS)
