"""``itinera journeys versions|diff|rollback`` and ``itinera drafts list|export`` on a live
database, with no server running (this process applies): the file published is kept as the
version's text with who published it, and an earlier version is published again."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from itinera.cli.main import app
from itinera.runtime import Service
from itinera.storage import drafts

runner = CliRunner()

FIRST = """\
# Welcome: the first cut
id: welcome
name: Welcome
entry: {segments: [gold]}
start: hello
nodes:
  hello: {do: [{send_email: {template: hi}}], next: done}
  done: {end: true}
"""
SECOND = FIRST.replace("next: done}", "next: pause}").replace(
    "  done: {end: true}\n", "  pause: {wait: 2d, next: done}   # breathe\n  done: {end: true}\n")


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _configure(database_url: str) -> None:
    service = Service(database_url, sandbox=True)
    try:
        service.submit([{"configure": {
            "segments": [{"id": "gold", "when": {"account.tier": "gold"}}],
            "templates": [{"id": "hi", "subject": "Hi"}]}}])
        service.work()
    finally:
        service.close()


def test_versions_diff_and_rollback(database_url: str, tmp_path: Path) -> None:
    _configure(database_url)
    path = tmp_path / "welcome.journey.yaml"
    for text in (FIRST, SECOND):
        path.write_text(text)
        code, _, err = _invoke("journeys", "publish", str(path), "--database", database_url)
        assert code == 0, err

    code, out, _ = _invoke("journeys", "versions", "welcome", "--json", "--database", database_url)
    assert code == 0
    listed = json.loads(out)
    assert [(v["version"], v["published_by"]) for v in listed] == [
        (1, f"cli:{getpass.getuser()}"), (2, f"cli:{getpass.getuser()}")]
    code, out, _ = _invoke("journeys", "versions", "welcome", "--database", database_url)
    assert code == 0 and "cli:" in out

    code, out, _ = _invoke("journeys", "diff", "welcome", "1", "2", "--database", database_url)
    assert code == 0, out
    assert "nodes added: pause" in out and "nodes changed: hello" in out
    assert "+  pause: {wait: 2d, next: done}   # breathe\n" in out  # the texts, comments kept
    code, out, _ = _invoke("journeys", "diff", "welcome", "1", "2", "--json",
                           "--database", database_url)
    assert json.loads(out)["nodes"]["added"] == ["pause"]

    code, out, err = _invoke("journeys", "rollback", "welcome", "1", "--database", database_url)
    assert code == 0, err
    code, out, _ = _invoke("journeys", "versions", "welcome", "--json", "--database", database_url)
    assert [v["version"] for v in json.loads(out)] == [1, 2, 3]
    code, out, _ = _invoke("journeys", "diff", "welcome", "1", "3", "--json",
                           "--database", database_url)
    changes = json.loads(out)
    assert changes["nodes"] == {"added": [], "removed": [], "changed": []} and changes["yaml"] == ""

    code, _, err = _invoke("journeys", "rollback", "welcome", "9", "--database", database_url)
    assert code == 1 and "no version 9" in err
    code, _, err = _invoke("journeys", "versions", "nope", "--database", database_url)
    assert code == 1 and "no journey 'nope'" in err


def test_drafts_list_and_export(database_url: str, tmp_path: Path) -> None:
    service = Service(database_url, sandbox=True)
    try:
        with service.intake.engine.begin() as connection:
            made = drafts.create_draft(connection, kind="journey", object_id="welcome",
                                       text=FIRST, base_version=None, by="user:ana",
                                       now=datetime(2026, 1, 5, 9, tzinfo=UTC))
    finally:
        service.close()
    code, out, _ = _invoke("drafts", "list", "--json", "--database", database_url)
    assert code == 0
    [listed] = json.loads(out)
    assert listed["id"] == made.id and listed["updated_by"] == "user:ana" and "text" not in listed
    code, out, _ = _invoke("drafts", "export", made.id, "--database", database_url)
    assert code == 0 and out == FIRST
    code, _, _ = _invoke("drafts", "export", made.id, "--out", str(tmp_path),
                         "--database", database_url)
    assert code == 0 and (tmp_path / "welcome.journey.yaml").read_text() == FIRST
    code, _, err = _invoke("drafts", "export", "d_none", "--database", database_url)
    assert code == 1 and "no draft" in err
