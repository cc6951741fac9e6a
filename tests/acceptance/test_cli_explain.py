"""``itinera explain ACCOUNT --journey J`` on a live database: the API's document with
``--json``, the answer in words otherwise; unknown account or journey exit 1, a bad ``--at`` 2 —
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from api_support import open_api
from typer.testing import CliRunner
from why_world import START, build_world

from itinera.cli.main import app
from itinera.runtime.clock import ManualClock

runner = CliRunner()


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_explain_an_account_in_words_and_json(database_url: str) -> None:
    with open_api(database_url, ManualClock(START)) as api:
        build_world(api)
        document = api.get("/api/accounts/small/explain", journey="big-deal")
    at = ("--at", "2026-03-02T09:00:00Z", "--database", database_url)

    as_json = _run("explain", "small", "--journey", "big-deal", "--json", *at)
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == document

    words = _run("explain", "small", "-j", "big-deal", *at)
    assert words.exit_code == 0, words.output
    text = " ".join(words.stdout.split())
    assert "account small in journey big-deal (version 1, enabled)" in text
    assert "Not enrolled: not in segment big: account employees is at least 1000 is false." in text
    assert "✗ account employees is at least 1000 (account.employees = 50) ← decided" in text
    assert "✓ account tier is gold (account.tier = \"gold\")" in text
    assert "re-entry after 7d: allowed — never enrolled before" in text
    assert "next change never by time alone" in text

    enrolled = _run("explain", "new", "--journey", "fresh", *at)
    text = " ".join(enrolled.stdout.split())
    assert "Enrolled since 2026-03-02T09:00:00Z" in text
    assert "next change 2026-03-22T09:00:00Z" in text and "enrollments in this journey" in text


def test_explain_unknown_account_journey_and_bad_instant(database_url: str) -> None:
    with open_api(database_url, ManualClock(START)) as api:
        build_world(api)
    db = ("--database", database_url)
    for args, status, message in [
            (("nope", "--journey", "big-deal"), 1, "no account 'nope'"),
            (("small", "--journey", "nope"), 1, "no journey 'nope'"),
            (("small", "--journey", "big-deal", "--at", "soon"), 2, "--at:")]:
        result = _run("explain", *args, *db)
        assert result.exit_code == status, result.output
        assert message in result.stderr and result.stdout == ""
