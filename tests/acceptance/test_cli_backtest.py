"""`itinera backtest` as a user runs it on a store a live service recorded: the report, --json
equal to `itinera simulate` of the scenario it writes, the live store untouched, and bad input
refused with exit 2 and its place."""

from __future__ import annotations

import hashlib
import textwrap
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from itinera.cli.main import app
from itinera.runtime import ManualClock, Service
from itinera.storage import schema as t
from itinera.storage.engine import create_engine
from itinera.timeutil import parse_instant

START = parse_instant("2026-03-02T09:00:00Z")

DRAFT = """
id: welcome-back
entry: {event: {type: login}}
start: hello
nodes:
  hello: {do: [{send_email: {template: hello}}], next: later}
  later: {wait: 1d, next: again}
  again: {do: [{send_email: {template: hello}}]}
"""


def record(database_url: str) -> None:
    """A live service receives a workspace, a world and a week of logins, one a day."""
    clock = ManualClock(START)
    service = Service(database_url, clock, sandbox=True)
    try:
        templates = [{"id": "hello", "subject": "Hello {{ account.name }}"}]
        accounts = [{"id": "acme", "attributes": {"name": "Acme"}},
                    {"id": "beta", "attributes": {"name": "Beta"}}]
        people = [{"id": "p1", "account": "acme", "email": "a@acme.test"},
                  {"id": "p2", "account": "beta", "email": "b@beta.test"}]
        service.submit([{"configure": {"templates": templates}},
                        {"load_world": {"accounts": accounts, "people": people}}])
        service.work()
        for day, person in enumerate(["p1", "p2", "p1", "p2", "p1", "p2", "p1"], start=1):
            clock.set(START + timedelta(days=day))
            service.submit([{"event": {"type": "login", "person": person}}])
            service.work()
    finally:
        service.close()


def draft(tmp_path: Path, text: str = DRAFT) -> str:
    path = tmp_path / "draft.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["backtest", *args])
    return result.exit_code, result.stdout, result.stderr


def snapshot(database_url: str) -> object:
    """What a write would change: the file's bytes on SQLite, every table's rows on PostgreSQL."""
    engine = create_engine(database_url)
    try:
        if engine.dialect.name == "sqlite":
            assert engine.url.database is not None
            return hashlib.sha256(Path(engine.url.database).read_bytes()).hexdigest()
        with engine.connect() as connection:
            return {name: sorted(map(repr, connection.execute(sa.select(table)).all()))
                    for name, table in t.metadata.tables.items()}
    finally:
        engine.dispose()


def test_report_and_json_equal_to_simulating_its_scenario(tmp_path: Path, database_url: str) -> None:
    record(database_url)
    before = snapshot(database_url)
    window = ["--from", "2026-03-04", "--to", "2026-03-07T09:00:00Z", "--database", database_url]

    code, out, err = invoke(draft(tmp_path), *window)
    assert code == 0, err
    assert out.startswith("Backtest of welcome-back from 2026-03-04T00:00:00Z to "
                          "2026-03-07T09:00:00Z: 4 recorded inputs replayed (1 before --from), "
                          "0 lifecycle inputs of journeys left out")
    assert "welcome-back: 2 enrollments — 2 completed" in out  # p2 logs in again: no re-entry
    assert "2026-03-04T09:00:00Z  email   → b@beta.test  Hello Beta" in out  # not 03-03's login

    scenario = tmp_path / "backtest.yaml"
    code, backtested, err = invoke(draft(tmp_path), *window, "--json", "--scenario-out", str(scenario))
    assert code == 0, err
    simulated = CliRunner().invoke(app, ["simulate", str(scenario), "--json"])
    assert simulated.exit_code == 0, simulated.stderr
    assert backtested == simulated.stdout
    assert snapshot(database_url) == before


def test_bad_input_is_refused_with_its_place(tmp_path: Path, database_url: str) -> None:
    record(database_url)
    db = ["--database", database_url]
    code, _, err = invoke(draft(tmp_path), "--from", "yesterday", "--to", "2026-03-05", *db)
    assert code == 2 and "--from: bad date 'yesterday'" in err
    code, _, err = invoke(draft(tmp_path), "--from", "2026-03-05", "--to", "2026-03-04", *db)
    assert code == 2 and "--from (2026-03-05T00:00:00Z) must be before --to" in err
    # said first, before the draft's own problems (and without reading the journal)
    code, _, err = invoke(str(tmp_path / "missing.yaml"), "--from", "2026-03-05", "--to", "2026-03-04",
                          "--database", "sqlite:///" + str(tmp_path / "absent.db"))
    assert code == 2 and err.strip().startswith("--from (2026-03-05T00:00:00Z) must be before")
    broken = draft(tmp_path, DRAFT.replace("next: again", "next: nowhere").replace(
        "template: hello}}]}\n", "template: goodbye}}]}\n", 1))
    code, _, err = invoke(broken, "--from", "2026-03-04", "--to", "2026-03-05", *db)
    assert code == 2
    assert f"{broken}: nodes.later.next: no node 'nowhere'" in err
    assert f"{broken}: nodes.again.do[0].send_email.template: no template 'goodbye'" in err
    code, _, err = invoke(draft(tmp_path), "--from", "2026-03-04", "--to", "2026-03-05",
                          "--database", f"sqlite:///{tmp_path}/missing.db")
    assert code == 2 and "--database: no database file" in err


def test_a_workspace_file_adds_what_the_draft_needs_before_it_is_live(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/live.db"
    record(database_url)
    text = DRAFT.replace("again: {do: [{send_email: {template: hello}}]}",
                         "again: {do: [{send_email: {template: follow-up}}]}")
    window = ["--from", "2026-03-04", "--to", "2026-03-07T09:00:00Z", "--database", database_url]
    code, _, err = invoke(draft(tmp_path, text), *window)
    assert code == 2 and "no template 'follow-up'" in err  # not live yet
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text("templates:\n  - {id: follow-up, subject: 'Again, {{ account.name }}'}\n")
    code, out, err = invoke(draft(tmp_path, text), *window, "--workspace", str(workspace))
    assert code == 0, err
    assert "email   → b@beta.test  Again, Beta" in out and "Hello Beta" in out
    workspace.write_text("templates: 3\n")
    code, _, err = invoke(draft(tmp_path, text), *window, "--workspace", str(workspace))
    assert code == 2 and err.startswith(f"{workspace}: templates: "), err
