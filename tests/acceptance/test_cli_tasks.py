"""``itinera tasks`` and ``itinera keys`` on a live database: list open tasks, complete and
reassign them (the API sees the same), create, list and revoke keys; SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from typer.testing import CliRunner

from itinera.cli.main import app
from itinera.runtime import Service
from itinera.runtime.clock import ManualClock
from itinera.storage import queries

runner = CliRunner()


def _world_with_tasks(database_url: str) -> None:
    service = Service(database_url, ManualClock(datetime(2026, 1, 5, 9, tzinfo=UTC)), sandbox=True)
    try:
        service.submit([
            {"configure": {"csms": [{"id": "ann"}, {"id": "bob"}],
                           "segments": [{"id": "gold", "when": {"account.tier": "gold"}}]}},
            {"publish": {"id": "kickoff", "entry": {"segments": ["gold"]}, "start": "call",
                         "nodes": {"call": {"do": [{"create_task": {
                             "title": "Call {{ account.id }}", "assignee": "ann", "due": "2d"}}]}}}},
            {"enable": "kickoff"},
            {"upsert_account": {"id": "acme", "attributes": {"tier": "gold"}}},
            {"upsert_account": {"id": "beta", "attributes": {"tier": "gold"}}},
        ])
        service.work()
    finally:
        service.close()


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_list_complete_and_reassign_tasks(database_url: str) -> None:
    _world_with_tasks(database_url)
    db = ("--database", database_url)
    code, output = _invoke("tasks", "list", "--json", *db)
    assert code == 0
    tasks = _lines(output)
    assert [(t["title"], t["assignee"], t["account"]) for t in tasks] == [
        ("Call acme", "ann", "acme"), ("Call beta", "ann", "beta")]
    first, second = (int(str(t["id"])) for t in tasks)

    code, output = _invoke("tasks", "complete", str(first), "--note", "called, all good", *db)
    assert code == 0
    done = _lines(output)[0]
    assert done["status"] == "completed" and done["completion_note"] == "called, all good"
    code, output = _invoke("tasks", "reassign", str(second), "bob", *db)
    assert code == 0
    moved = _lines(output)[0]
    assert moved["assignee"] == "bob"
    assert [(m["from"], m["to"]) for m in moved["reassignments"]] == [("ann", "bob")]  # type: ignore[index]

    assert [t["id"] for t in _lines(_invoke("tasks", "list", "--json", *db)[1])] == [second]
    assert [t["id"] for t in _lines(_invoke("tasks", "list", "--json", "--status", "completed",
                                            *db)[1])] == [first]
    assert [t["id"] for t in _lines(_invoke("tasks", "list", "--json", "--assignee", "ann",
                                            "--status", "all", *db)[1])] == [first]
    code, output = _invoke("tasks", "list", *db)  # the table
    assert code == 0 and "Call beta" in output and "bob" in output and "Call acme" not in output
    # What the API reads is the same rows.
    with sa.create_engine(database_url).connect() as connection:
        assert queries.task(connection, first)["status"] == "completed"  # type: ignore[index]

    assert _invoke("tasks", "complete", "999", *db)[0] == 1
    assert _invoke("tasks", "reassign", "999", "bob", *db)[0] == 1
    assert _invoke("tasks", "list", "--status", "done", *db)[0] == 2


def test_keys_create_list_revoke(database_url: str) -> None:
    db = ("--database", database_url)
    code, output = _invoke("keys", "create", "crm-sync", *db)
    assert code == 0
    key = output.splitlines()[0]
    code, output = _invoke("keys", "list", *db)
    assert code == 0
    (line,) = output.splitlines()
    id, name, scope, _, state = line.split("\t")
    assert (name, scope, state) == ("crm-sync", "admin", "active") and key not in output
    assert _invoke("keys", "revoke", id, *db)[0] == 0
    assert _invoke("keys", "list", *db)[1].split("\t")[4].startswith("revoked")
    assert _invoke("keys", "revoke", id, *db)[0] == 1


def test_reading_a_database_that_is_not_there_creates_nothing(tmp_path: object) -> None:
    from pathlib import Path

    typo = Path(str(tmp_path)) / "typo.db"
    for command in (["tasks", "list"], ["journeys", "list"], ["enrollments", "list"],
                    ["deliveries", "list"], ["keys", "list"]):
        result = runner.invoke(app, [*command, "--database", f"sqlite:///{typo}"])
        assert result.exit_code == 2 and "no database at" in result.stderr, command
    assert not typo.exists()
    assert _invoke("tasks", "list", "--database", "not a url")[0] == 2
    assert _invoke("keys", "create", "first", "--database", f"sqlite:///{typo}")[0] == 0
    assert typo.exists()  # creating a key before the first `itinera serve` makes the store
