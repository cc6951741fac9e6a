"""Helpers of the API acceptance tests: the real app over a real service, with an API key."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from itinera.api import create_app
from itinera.runtime import Service
from itinera.runtime.clock import Clock
from itinera.storage import keys

__all__ = ["ONBOARDING", "WORKSPACE", "Api", "basic", "open_api"]

WORKSPACE = {
    "csms": [{"id": "ann", "name": "Ann"}, {"id": "bob", "name": "Bob"}],
    "segments": [{"id": "big", "when": {"account.employees": {"gte": 1000}}}],
}

# Enroll on `trial.started`; assign a CSM, open a kick-off task for them, wait for the
# kick-off for 7 days.
ONBOARDING: dict[str, Any] = {
    "id": "onboarding",
    "name": "Onboarding",
    "entry": {"event": {"type": "trial.started"}},
    "start": "assign",
    "nodes": {
        "assign": {"do": [{"assign_csm": {"strategy": "round_robin", "pool": ["ann", "bob"]}}],
                   "next": "kickoff"},
        "kickoff": {"do": [{"create_task": {"title": "Kick-off with {{ account.name }}",
                                            "assignee": "csm", "due": "2d"}}],
                    "next": "listen"},
        "listen": {"wait_for": {"events": ["kickoff.done"], "scope": "account",
                                "timeout": "7d"},
                   "next": "done", "on_timeout": "done"},
        "done": {"end": True},
    },
}


def basic(key: str) -> dict[str, str]:
    """Segment's way: the key as the user name, an empty password."""
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@dataclass
class Api:
    service: Service
    client: TestClient
    key: str

    def post(self, path: str, body: Any, *, wait: bool = True, **kwargs: Any) -> Any:
        return self.client.post(path, json=body, params={"wait": "true"} if wait else {},
                                headers={"Authorization": f"Bearer {self.key}"}, **kwargs)

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params,
                                   headers={"Authorization": f"Bearer {self.key}"})
        assert response.status_code == 200, response.text
        return response.json()

    def new_key(self, name: str, scope: str = "admin") -> tuple[str, str]:
        with self.service.intake.engine.begin() as connection:
            return keys.create_api_key(connection, name, datetime.now(UTC), scope)

    def setup_onboarding(self) -> None:
        """Configure the workspace, publish and enable the onboarding journey."""
        assert self.post("/api/inputs", [{"configure": WORKSPACE}]).status_code == 200
        assert self.post("/api/journeys", ONBOARDING).status_code == 200
        assert self.post("/api/journeys/onboarding/enable", None).status_code == 200


@contextmanager
def open_api(database_url: str, clock: Clock | None = None) -> Iterator[Api]:
    service = Service(database_url, clock)
    try:
        client = TestClient(create_app(service))
        with service.intake.engine.begin() as connection:
            _, key = keys.create_api_key(connection, "tests", datetime.now(UTC))
        yield Api(service, client, key)
    finally:
        service.close()
