"""A draft journey tried before it is published, over recorded history: the studio's backtest
(``studio.draft_backtest``, in a child process with its limits) gives per-node counts for the
graph and a sample of the draft's enrollments with their paths and decisions — the same run as
``itinera backtest`` — on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import yaml
from api_support import Api, open_api

from acceptance.test_cli_backtest import START, record
from acceptance.test_scenarios_kept import _bundle
from itinera.runtime import ManualClock
from itinera.storage.engine import create_engine
from itinera.studio.draft_backtest import backtest_draft, journal_size
from itinera.studio.runs import Runs

DRAFT: dict[str, Any] = {
    "id": "welcome-back", "entry": {"event": {"type": "login"}}, "start": "hello",
    "nodes": {"hello": {"do": [{"send_email": {"template": "hello"}}], "next": "later"},
              "later": {"wait": "1d", "next": "again"},
              "again": {"do": [{"send_email": {"template": "hello"}}]}},
}


def test_a_drafts_backtest_counts_its_nodes_and_samples_its_enrollments(database_url: str) -> None:
    record(database_url)  # a workspace, two accounts and a login a day for a week
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert journal_size(connection, START + timedelta(days=30)) == 9
        assert journal_size(connection, START + timedelta(seconds=1)) == 2
    engine.dispose()
    since, until = START + timedelta(days=3, hours=12), START + timedelta(days=8)
    result = Runs().run(backtest_draft, database_url, DRAFT, since, until, seconds=300)
    assert result["problems"] == []
    # Logins on days 4 (p2, beta), 5 (p1, acme), 6 (beta), 7 (acme): enrolled on days 4 and 5;
    # re-entry is off (the default), so later logins of an enrolled account do not enroll again.
    assert result["replayed"] == 7 and result["before_since"] == 3
    assert result["enrollments"] == 2
    assert result["nodes"] == {"hello": {"entered": 2, "waiting": 0, "ended": 0},
                               "later": {"entered": 2, "waiting": 0, "ended": 0},
                               "again": {"entered": 2, "waiting": 0, "ended": 2}}
    first, second = result["sample"]
    assert (first["account"], first["name"], first["status"]) == ("beta", "Beta", "completed")
    assert first["path"] == ["hello", "later", "again"] and second["account"] == "acme"
    # Enrolled by p2's login on day 4, the email, the wait, the second email, the end.
    decisions = first["decisions"]
    assert decisions[0]["event"] == "enrolled" and decisions[0]["at"] == "2026-03-06T09:00:00Z"
    assert decisions[0]["trigger"]["event"]["person"] == "p2"
    assert [(d["node"], d.get("decision") or d.get("event")) for d in decisions[1:]] == [
        ("hello", "actions"), ("later", "resumed"), ("again", "actions"),
        ("again", "path_ended"), (None, "ended")]
    # The live store is only read.
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM enrollments")).scalar() == 0
    engine.dispose()


def test_a_draft_with_a_problem_is_said_at_its_place_and_nothing_runs(database_url: str) -> None:
    record(database_url)
    broken = DRAFT | {"nodes": {**DRAFT["nodes"], "later": {"wait": "1d", "next": "nowhere"}}}
    result = backtest_draft(database_url, broken, START, START + timedelta(days=8))
    assert [p["place"] for p in result["problems"]] == ["nodes.later.next", "nodes.again"]  # unreachable
    unknown = DRAFT | {"nodes": {**DRAFT["nodes"], "hello": {
        "do": [{"send_email": {"template": "nope"}}], "next": "later"}}}
    result = backtest_draft(database_url, unknown, START, START + timedelta(days=8))
    assert result["problems"][0]["place"] == "nodes.hello.do[0].send_email.template"


def test_an_in_memory_store_has_no_history_to_replay() -> None:
    result = backtest_draft("sqlite://", DRAFT, START, START + timedelta(days=1))
    assert "a backtest reads a store" in result["problems"][0]["message"]


# -- over the API and in the studio's Test panel ------------------------------------------------
def _stored_draft(api: Api, text: str, kind: str = "journey") -> str:
    """A draft of ``text`` made through the drafts API."""
    response = api.post("/api/drafts", {"kind": kind, "from": "text", "text": text}, wait=False)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_a_drafts_backtest_and_scenarios_over_the_api(database_url: str) -> None:
    record(database_url)
    with open_api(database_url, ManualClock(START + timedelta(days=8))) as api:
        draft = _stored_draft(api, json.dumps(DRAFT))
        found = _ok(api.post(f"/api/drafts/{draft}/checks/backtest", {"days": 4}, wait=False))
        # Enabled on day 4 at 09:00: the logins of days 4 to 7, beta's and acme's first enroll.
        assert found["journey"] == "welcome-back" and found["enrollments"] == 2
        assert found["nodes"]["again"] == {"entered": 2, "waiting": 0, "ended": 2}
        assert [s["account"] for s in found["sample"]] == ["beta", "acme"]
        too_long = api.post(f"/api/drafts/{draft}/checks/backtest", {"days": 91}, wait=False)
        assert too_long.status_code == 422
        assert api.post("/api/drafts/nope/checks/backtest", {}, wait=False).status_code == 404

        # Scenarios: none kept runs this journey; one kept that does is run with the draft.
        assert _ok(api.post(f"/api/drafts/{draft}/checks/scenarios", {}, wait=False))["runs"] == []
        text, files = _bundle()
        assert api.post("/api/scenarios", {"name": "renewal", "text": text, "files": files},
                        wait=False).status_code == 201
        renewal = yaml.safe_load(files["csb-renewal.journey.yaml"])
        renewal["nodes"]["t-minus-60"]["wait_until"]["offset"] = "-45d"
        changed = _stored_draft(api, yaml.safe_dump(renewal))
        assert [s["name"] for s in api.get(f"/api/drafts/{changed}/checks/scenarios")["scenarios"]] \
            == ["renewal"]
        ran = _ok(api.post(f"/api/drafts/{changed}/checks/scenarios", {}, wait=False))
        (run,) = ran["runs"]
        assert not ran["ok"] and run["scenario"] == "renewal" and run["problems"] == []
        assert any(not e["held"] for e in run["expectations"])
        assert api.post(f"/api/drafts/{changed}/checks/scenarios", {"names": ["nope"]},
                        wait=False).status_code == 404


def test_the_studios_test_panel_runs_both_and_gives_the_graph_its_counts(database_url: str) -> None:
    record(database_url)
    with open_api(database_url, ManualClock(START + timedelta(days=8))) as api:
        draft = _stored_draft(api, json.dumps(DRAFT))
        client = api.client
        assert client.post("/ui/login", data={"key": api.key},
                           follow_redirects=False).status_code == 303
        panel = client.get(f"/ui/drafts/{draft}/tests")
        assert panel.status_code == 200 and "No kept scenario runs" in panel.text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', panel.text)
        assert csrf is not None
        result = client.post(f"/ui/drafts/{draft}/tests/backtest",
                             data={"csrf": csrf.group(1), "days": "4"})
        assert result.status_code == 200, result.text
        counts = re.search(r"data-node-counts='([^']*)'", result.text)
        assert counts is not None
        assert json.loads(html.unescape(counts.group(1))) == {"hello": 2, "later": 2, "again": 2}
        assert 'data-account="beta"' in result.text and "hello → later → again" in result.text
        # Without the form token nothing runs.
        assert client.post(f"/ui/drafts/{draft}/tests/backtest", data={"days": "4"}).status_code == 403
        missing = client.get("/ui/drafts/nope/tests")
        assert "no draft" in html.unescape(missing.text)


def test_a_segment_drafts_preview(database_url: str) -> None:
    record(database_url)  # accounts acme and beta
    with open_api(database_url) as api:
        draft = _stored_draft(api, "id: acmes\nwhen: {account.name: Acme}\n", "segment")
        assert _ok(api.client.get(f"/api/drafts/{draft}/checks/segment",
                                  headers={"Authorization": f"Bearer {api.key}"}))["sample"] == \
            [{"id": "acme", "name": "Acme"}]
        journey = _stored_draft(api, json.dumps(DRAFT))
        assert api.client.get(f"/api/drafts/{journey}/checks/segment",
                              headers={"Authorization": f"Bearer {api.key}"}).status_code == 409
        assert api.post(f"/api/drafts/{draft}/checks/backtest", {}, wait=False).status_code == 409
