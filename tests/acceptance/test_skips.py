"""Actions that reach nobody — an email or campaign whose `to` matches no one, a task for the
CSM of an account without one, a webhook whose URL renders empty — are skipped with their
reason, never done: in the outbox, the decision history, the report, the simulator's output
and the web UI (journey page, account timeline), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from api_support import Api, open_api
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from itinera.cli.main import app

DATA: dict[str, Any] = {
    "segments": [{"id": "all", "when": {"account.tier": "gold"}}],
    "templates": [{"id": "hello", "subject": "Hello {{ person.first_name }}"}],
    "campaigns": ["nurture"],
}
JOURNEY: dict[str, Any] = {
    "id": "nobody", "entry": {"segments": ["all"]}, "start": "act",
    "nodes": {"act": {"do": [
        {"send_email": {"template": "hello", "to": {"person.title": "CEO"}}},
        {"create_task": {"title": "Call {{ account.name }}", "assignee": "csm"}},
        {"add_to_campaign": {"campaign": "nurture", "to": {"person.title": "CEO"}}},
        {"webhook": {"url": "{{ account.hook_url }}"}},
        {"change_score": {"by": 5, "to": {"person.title": "CEO"}}},
        {"send_email": {"template": "hello"}},
    ]}},
}
ACCOUNT = {"id": "acme", "attributes": {"name": "Acme", "tier": "gold"}}
PEOPLE = [{"id": "ada", "account": "acme", "email": "ada@acme.test",
           "attributes": {"title": "CTO", "first_name": "Ada"}},
          {"id": "bob", "account": "acme", "attributes": {"title": "CFO"}}]
SKIPPED = [("act", "campaign", "no_recipients", 1), ("act", "email", "no_email", 1),
           ("act", "email", "no_recipients", 1), ("act", "task", "no_assignee", 1),
           ("act", "webhook", "no_url", 1)]


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        assert api.post("/api/inputs", [
            {"configure": DATA}, {"publish": JOURNEY}, {"enable": "nobody"},
            *({"upsert_person": p} for p in PEOPLE), {"upsert_account": ACCOUNT},
        ]).status_code == 200
        yield api


def test_actions_that_reach_nobody_are_skipped_with_their_reason(api: Api) -> None:
    [enrollment] = api.get("/api/enrollments")["items"]
    effects = api.get("/api/deliveries", limit=100)["items"]
    assert len(effects) == 6 and {
        (d["channel"], d["status"], d["person"], d["reason"]) for d in effects} == {
        ("campaign", "skipped", None, "no_recipients"),
        ("email", "pending", "ada", None),
        ("email", "skipped", None, "no_recipients"),
        ("email", "skipped", "bob", "no_email"),
        ("task", "skipped", None, "no_assignee"),
        ("webhook", "skipped", None, "no_url")}
    assert api.get("/api/tasks")["items"] == []  # no task without an assignee to do it
    assert api.get("/api/tasks", status="open")["items"] == []
    [skipped] = [d["id"] for d in effects if d["channel"] == "task"]
    for action, body in (("complete", None), ("reassign", {"assignee": "kim@vendor.test"})):
        answer = api.post(f"/api/tasks/{skipped}/{action}", body, wait=False)
        assert answer.status_code == 404, (action, answer.text)  # nothing to complete or give

    history = api.get(f"/api/enrollments/{enrollment['id']}")["history"]
    [actions] = [h["actions"] for h in history if h.get("decision") == "actions"]
    assert actions == [
        {"action": "send_email", "skipped": "no_recipients"},
        {"action": "create_task", "skipped": "no_assignee"},
        {"action": "add_to_campaign", "skipped": "no_recipients"},
        {"action": "webhook", "skipped": "no_url"},
        {"action": "change_score", "skipped": "no_people"},
        {"action": "send_email", "to": ["ada"], "not_sent": {"bob": "no_email"}}]

    report = api.get("/api/journeys/nobody/report")
    assert [(k["node"], k["channel"], k["reason"], k["count"]) for k in report["skips"]] == SKIPPED


def test_the_ui_shows_them_as_skipped(api: Api) -> None:
    client = TestClient(api.client.app)
    assert client.post("/ui/login", data={"key": api.key},
                       follow_redirects=False).status_code == 303
    timeline = client.get("/ui/accounts/acme").text
    assert "skipped: no recipients" in timeline and "skipped: no assignee" in timeline
    assert "task not created: Call Acme" in timeline
    assert "email hello to nobody: skipped" in timeline
    assert not re.search(r"(send email|create task|add to campaign|webhook)</dt>\s*<dd[^>]*>"
                         r"\s*done", timeline)
    page = client.get("/ui/journeys/nobody").text
    skips = re.search(r'<table class="table compact skips">(.*?)</table>', page, re.S)
    assert skips is not None
    rows = re.findall(r"<tr><td>(\w+)</td><td>(\w+)</td><td>([\w ]+)</td>"
                      r'<td class="num">(\d+)</td></tr>', skips.group(1))
    assert rows == [(n, c, r.replace("_", " "), str(k)) for n, c, r, k in SKIPPED]


def test_the_simulator_lists_the_same_skips(tmp_path: Path) -> None:
    scenario = {"start": "2026-01-05T09:00:00Z", "until": "1d",
                "data": {**DATA, "accounts": [], "people": []}, "journeys": [JOURNEY],
                "timeline": [{"enable": "nobody"}, *({"upsert_person": p} for p in PEOPLE),
                             {"upsert_account": ACCOUNT}]}
    path = tmp_path / "nobody.scenario.yaml"
    path.write_text(yaml.safe_dump(scenario))
    runner = CliRunner()
    result = runner.invoke(app, ["simulate", str(path), "--json"])
    assert result.exit_code == 0, result.output
    skipped = json.loads(result.output)["skipped"]
    assert len(skipped) == 5 and {(s["channel"], s["person"], s["reason"]) for s in skipped} == {
        ("campaign", None, "no_recipients"), ("email", None, "no_recipients"),
        ("email", "bob", "no_email"), ("task", None, "no_assignee"),
        ("webhook", None, "no_url")}
    assert json.loads(result.output)["tasks"] == []
    printed = runner.invoke(app, ["simulate", str(path)])
    assert "skipped email: no_recipients" in printed.output
    assert "skipped task: no_assignee" in printed.output
    assert "skipped email to bob: no_email" in printed.output


def test_itinera_report_lists_the_skips(api: Api, database_url: str) -> None:
    runner = CliRunner()
    tables = runner.invoke(app, ["report", "nobody", "--database", database_url])
    assert tables.exit_code == 0, tables.output
    assert "Skipped" in tables.output
    assert re.search(r"act\s+task\s+no_assignee\s+1", tables.output), tables.output
    rows = runner.invoke(app, ["report", "nobody", "--database", database_url, "--csv"])
    assert [line for line in rows.output.splitlines() if line.startswith("skip,")] == [
        f"skip,{n},{c},{r},{k}" for n, c, r, k in SKIPPED]
