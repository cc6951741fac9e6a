"""``itinera accounts list|show`` on a live database: the same accounts the REST API reads back,
found by id prefix or name, shown with people, buying groups, segments and enrollments; an unknown
account exits with status 1 — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from accounts_world import ACME, START, build_world
from api_support import open_api
from typer.testing import CliRunner

from itinera.cli.main import app
from itinera.runtime.clock import ManualClock

runner = CliRunner()


def _world(database_url: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Build the world through the API; return what the API reads back: acme, and every account."""
    with open_api(database_url, ManualClock(START)) as api:
        build_world(api)
        return api.get("/api/accounts/acme"), api.get("/api/accounts")["items"]


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_list_and_search_accounts(database_url: str) -> None:
    _, everyone = _world(database_url)
    db = ("--database", database_url)
    listed = _run("accounts", "list", "--json", *db)
    assert listed.exit_code == 0, listed.output
    assert [json.loads(line) for line in listed.stdout.splitlines()] == everyone

    found = _run("accounts", "list", "--search", "ACME", "--json", *db)
    assert [json.loads(line)["id"] for line in found.stdout.splitlines()] == ["acme", "acme-labs", "globex"]
    limited = _run("accounts", "list", "--limit", "1", "--json", *db)
    assert [json.loads(line)["id"] for line in limited.stdout.splitlines()] == ["acme"]

    table = _run("accounts", "list", "--search", "initech", *db)
    assert table.exit_code == 0
    assert "acme-labs" in table.stdout and "Initech" in table.stdout and "globex" not in table.stdout
    nothing = _run("accounts", "list", "--search", "zzz", *db)
    assert nothing.exit_code == 0 and "no accounts match 'zzz'" in nothing.stderr and nothing.stdout == ""


def test_show_an_account(database_url: str) -> None:
    acme, _ = _world(database_url)
    db = ("--database", database_url)
    as_json = _run("accounts", "show", "acme", "--json", *db)
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == acme
    assert {k: acme[k] for k in ACME} == ACME

    shown = _run("accounts", "show", "acme", *db)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == "account acme"
    for expected in ["csm", "ann", "segments", "big", "playbooks", "onboarding", "employees", "5000",
                     "Milestone: Trial of Acme (2026-03-02T09:00:00Z)", "cto@acme.test", "Product X",
                     "Engaged", "47.5", "66.67", "p1 (Decision Maker)", "p2 (Product SME)", "welcome",
                     "listen"]:
        assert expected in shown.stdout, expected
    [p2] = [line for line in lines if " p2 " in f" {line} " and "sme@acme.test" in line]
    assert "yes" in p2  # unsubscribed

    missing = _run("accounts", "show", "nope", *db)
    assert missing.exit_code == 1 and "no account 'nope'" in missing.stderr and missing.stdout == ""
