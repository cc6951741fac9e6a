"""The audit trail of the API and the CLI: publishing and each lifecycle command, workspace
data (with a ``template_edit`` per changed template), tasks reassigned, keys created and
revoked — each recorded with who (the key; the OS user for the CLI), from where, and
before/after; read back with ``GET /api/audit`` and ``itinera audit``. A refused change
leaves no entry. SQLite and PostgreSQL."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import yaml
from api_support import ONBOARDING, WORKSPACE, open_api
from typer.testing import CliRunner

from itinera.cli.main import app

runner = CliRunner()
TEMPLATE = {"id": "welcome", "subject": "Hi {{ account.name }}", "text": "Welcome"}


def test_the_api_records_who_changed_what(database_url: str) -> None:
    with open_api(database_url) as api:
        api.setup_onboarding()
        assert api.post("/api/journeys/onboarding/pause", None).status_code == 200
        refused = api.post("/api/journeys/onboarding/pause", None)  # paused already: refused
        assert refused.status_code == 422, refused.text
        changed = {**WORKSPACE, "templates": [TEMPLATE]}
        assert api.post("/api/inputs", [{"configure": changed}]).status_code == 200
        assert api.post("/api/inputs", [{"configure": changed}]).status_code == 200  # same

        page = api.get("/api/audit")
        kinds = [(e["kind"], e["object"]["kind"], e["object"]["id"]) for e in page["items"]]
        assert kinds == [
            ("workspace_apply", "workspace", "workspace"),
            ("workspace_apply", "workspace", "workspace"),
            ("template_edit", "template", "welcome"),  # once: the second apply changed nothing
            ("pause", "journey", "onboarding"),
            ("enable", "journey", "onboarding"),
            ("publish", "journey", "onboarding"),
            ("workspace_apply", "workspace", "workspace"),
            ("segment_edit", "segment", "big"),  # new: before is null
        ]
        pause = page["items"][3]
        assert pause["actor"]["label"] == "key:tests"
        assert pause["address"] == "testclient"
        assert pause["before"] == {"status": "enabled"}
        publish = page["items"][5]
        assert publish["before"] is None
        assert publish["after"]["definition"]["id"] == "onboarding"
        assert page["items"][2]["after"]["subject"] == TEMPLATE["subject"]

        again = dict(ONBOARDING, name="Onboarding 2")
        assert api.post("/api/journeys", again).status_code == 200
        latest = api.get("/api/audit", kind="publish")["items"][0]
        assert latest["before"]["version"] == 1
        assert latest["before"]["definition"]["name"] == "Onboarding"

        only = api.get("/api/audit", object_kind="journey", object_id="onboarding", limit=2)
        assert [e["kind"] for e in only["items"]] == ["publish", "pause"]
        rest = api.get("/api/audit", object_kind="journey", after=only["next"])
        assert [e["kind"] for e in rest["items"]] == ["enable", "publish"]
        assert api.get("/api/audit", actor="key:nobody")["items"] == []


def test_tasks_changed_over_the_api_are_recorded(database_url: str) -> None:
    with open_api(database_url) as api:
        api.setup_onboarding()
        assert api.post("/api/accounts", [{"id": "acme"}]).status_code == 200
        assert api.post("/api/events", [{"id": "e1", "type": "trial.started",
                                         "account": "acme"}]).status_code == 200
        task = api.get("/api/tasks")["items"][0]
        moved = api.post(f"/api/tasks/{task['id']}/reassign", {"assignee": "bob"}, wait=False)
        assert moved.status_code == 200, moved.text
        assert api.post(f"/api/tasks/{task['id']}/complete", None, wait=False).status_code == 200
        assert api.post("/api/tasks/999999/complete", None, wait=False).status_code == 404
        found = api.get("/api/audit", object_kind="task")["items"]
        assert [(e["kind"], e["before"], e["after"]) for e in found] == [
            ("task_complete", {"status": "open", "assignee": "bob"},
             {"status": "completed", "assignee": "bob"}),
            ("task_reassign", {"status": "open", "assignee": task["assignee"]},
             {"status": "open", "assignee": "bob"}),
        ]


def _cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_the_cli_records_its_operator(database_url: str, tmp_path: Path) -> None:
    db = ["--database", database_url]
    code, out = _cli("keys", "create", "website", "--scope", "ingest", *db)
    assert code == 0, out
    key_id = out.strip().splitlines()[0].split("_")[1]
    assert _cli("keys", "revoke", key_id, *db)[0] == 0
    assert _cli("keys", "revoke", key_id, *db)[0] == 1  # nothing to revoke: nothing recorded
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(yaml.safe_dump({**WORKSPACE, "templates": [TEMPLATE]}))
    code, out = _cli("workspace", "apply", str(workspace), *db)
    assert code == 0, out
    journey = tmp_path / "onboarding.journey.yaml"
    journey.write_text(yaml.safe_dump(ONBOARDING))
    assert _cli("journeys", "publish", str(journey), *db)[0] == 0
    assert _cli("journeys", "enable", "onboarding", *db)[0] == 0
    broken = tmp_path / "broken.journey.yaml"
    broken.write_text(yaml.safe_dump({**ONBOARDING, "start": "nowhere"}))
    assert _cli("journeys", "publish", str(broken), *db)[0] == 2  # refused: no entry

    code, out = _cli("audit", "--json", *db)
    assert code == 0, out
    found = [json.loads(line) for line in out.splitlines()]
    me = f"cli:{getpass.getuser()}"
    assert {e["actor"]["label"] for e in found} == {me}
    assert [(e["kind"], e["object"]["kind"]) for e in found] == [
        ("enable", "journey"), ("publish", "journey"), ("workspace_apply", "workspace"),
        ("segment_edit", "segment"), ("template_edit", "template"), ("key_revoke", "key"),
        ("key_create", "key")]
    assert found[-1]["after"] == {"name": "website", "scope": "ingest", "rate_limit": None}

    code, out = _cli("audit", "--object", "journey:onboarding", "--kind", "enable",
                     "--since", "1d", *db)
    assert code == 0, out
    assert "enable" in out and "journey:onboarding" in out and "publish" not in out
    code, out = _cli("audit", "--actor", "key:other", *db)
    assert code == 0 and "no audit entries" in out
    code, out = _cli("audit", "--since", "yesterday", *db)
    assert code == 2 and "neither an instant" in out
