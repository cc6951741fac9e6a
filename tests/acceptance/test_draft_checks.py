"""A draft journey tried before it is published, over recorded history: the studio's backtest
(``studio.draft_backtest``, in a child process with its limits) gives per-node counts for the
graph and a sample of the draft's enrollments with their paths and decisions — the same run as
``itinera backtest`` — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from acceptance.test_cli_backtest import START, record
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
