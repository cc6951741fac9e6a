"""A journey's versions over the REST API (issue 12): history with who published, one version's
text, diff, rollback; the studio's catalog, condition words and schemas — on SQLite and
PostgreSQL."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from api_support import ONBOARDING, WORKSPACE, Api, open_api


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def _call(api: Api, method: str, path: str, body: Any = None, **params: Any) -> Any:
    return api.client.request(method, path, json=body, params=params,
                              headers={"Authorization": f"Bearer {api.key}"})


def _publish_yaml(api: Api, text: str) -> None:
    response = api.client.post("/api/journeys", content=text, params={"wait": "true"},
                               headers={"Authorization": f"Bearer {api.key}",
                                        "Content-Type": "application/yaml"})
    assert response.status_code == 200, response.text


def _second_version() -> dict[str, Any]:
    second = copy.deepcopy(ONBOARDING)
    second["name"] = "Onboarding, faster"
    second["nodes"]["listen"]["wait_for"]["timeout"] = "3d"
    second["nodes"]["kickoff"]["next"] = "nudge"
    second["nodes"]["nudge"] = {"wait": "1d", "next": "listen"}
    return second


def test_history_diff_and_rollback(api: Api) -> None:
    assert api.post("/api/inputs", [{"configure": WORKSPACE}]).status_code == 200
    first = "# the first cut\n" + yaml.safe_dump(ONBOARDING, sort_keys=False)
    _publish_yaml(api, first)
    assert api.post("/api/journeys", _second_version()).status_code == 200  # JSON: no text

    versions = api.get("/api/journeys/onboarding/versions")
    assert [(v["version"], v["published_by"]) for v in versions] == [(1, "key:tests"),
                                                                     (2, "key:tests")]
    assert all(v["published_at"] for v in versions)
    one = api.get("/api/journeys/onboarding/versions/1")
    assert one["source"] == first and one["definition"]["start"] == "assign"
    assert api.get("/api/journeys/onboarding/versions/2")["source"] is None
    assert _call(api, "GET", "/api/journeys/onboarding/versions/9").status_code == 404
    assert _call(api, "GET", "/api/journeys/nope/versions").status_code == 404

    changes = api.get("/api/journeys/onboarding/diff", **{"from": 1, "to": 2})
    assert changes["nodes"] == {"added": ["nudge"], "removed": [],
                                "changed": ["kickoff", "listen"]}
    assert changes["rules"] == {"name": {"from": "Onboarding", "to": "Onboarding, faster"}}
    assert "-# the first cut\n" in changes["yaml"]
    assert "+      timeout: 3d\n" in changes["yaml"].replace("'", "")
    assert changes["yaml"].startswith("--- onboarding v1\n+++ onboarding v2\n")
    assert api.get("/api/journeys/onboarding/diff") == changes  # the latest and the one before

    rolled = _call(api, "POST", "/api/journeys/onboarding/rollback", {"version": 1}, wait="true")
    assert rolled.status_code == 200, rolled.text
    third = api.get("/api/journeys/onboarding/versions/3")
    assert third["source"] == first and third["published_by"] == "key:tests"
    assert third["definition"] == one["definition"]
    assert api.get("/api/journeys/onboarding")["version"] == 3
    back = api.get("/api/journeys/onboarding/diff", **{"from": 2, "to": 3})
    assert back["nodes"]["removed"] == ["nudge"]
    assert _call(api, "POST", "/api/journeys/onboarding/rollback",
                 {"version": 7}).status_code == 404


def test_a_rollback_with_moves_that_do_not_fit_is_refused(api: Api) -> None:
    api.setup_onboarding()
    assert api.post("/api/journeys", _second_version()).status_code == 200
    refused = _call(api, "POST", "/api/journeys/onboarding/rollback", {"version": 1},
                    move="nudge=nowhere")
    assert refused.status_code == 422
    assert any("nowhere" in e["message"] for e in refused.json()["errors"])
    assert [v["version"] for v in api.get("/api/journeys/onboarding/versions")] == [1, 2]


def test_catalog_words_and_schemas(api: Api) -> None:
    api.setup_onboarding()
    assert api.post("/api/accounts", [{"id": "acme", "attributes": {"name": "Acme",
                                                                    "plan": "pro"}}]
                    ).status_code == 200
    assert api.post("/api/events", [{"type": "trial.started", "account": "acme"}]
                    ).status_code == 200
    catalog = api.get("/api/workspace/catalog")
    assert catalog["segments"] == [{"id": "big"}]
    assert [c["id"] for c in catalog["csms"]] == ["ann", "bob"]
    assert catalog["journeys"] == [{"id": "onboarding", "name": "Onboarding",
                                    "status": "enabled"}]
    assert catalog["event_types"] == ["trial.started"]
    assert catalog["account_fields"][:4] == ["id", "csm", "created_at", "playbooks"]
    assert {"name", "plan"} <= set(catalog["account_fields"])
    assert "wait_for" in catalog["node_kinds"]

    words = _call(api, "POST", "/api/conditions/words",
                  {"condition": {"account.plan": "pro", "account.seats": {"gte": 10}}})
    assert words.status_code == 200 and "plan" in words.json()["words"]
    bad = _call(api, "POST", "/api/conditions/words", {"condition": {"account.plan": {"zz": 1}}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["place"].startswith("condition.account.plan")

    journey = api.get("/api/schema/journey")
    assert journey["title"] == "Itinera journey" and "nodes" in journey["properties"]
    segment = api.get("/api/schema/segment")
    assert set(segment["properties"]) >= {"id", "when"}
    assert _call(api, "GET", "/api/schema/nope").status_code == 422


def test_who_published_is_the_caller_never_the_body(api: Api) -> None:
    """Raw inputs may not name another publisher nor a text beside the definition."""
    assert api.post("/api/inputs", [{"configure": WORKSPACE}]).status_code == 200
    assert api.post("/api/inputs", [{"publish": ONBOARDING, "by": "user:ceo",
                                     "source": "# not what was published\n"}]).status_code == 200
    [version] = api.get("/api/journeys/onboarding/versions")
    assert version["published_by"] == "key:tests"
    assert api.get("/api/journeys/onboarding/versions/1")["source"] is None
