"""A backtest replays what a live service recorded through a draft journey, and reports exactly
what `simulate` reports for a scenario of the same inputs with the draft — with no effects and
without writing to the live database."""

from __future__ import annotations

import json
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from itinera.definitions.loader import load_journey_file, load_scenario
from itinera.definitions.models import Journey
from itinera.errors import ItineraError
from itinera.runtime import ManualClock, Service
from itinera.simulate.backtest import (
    BacktestError,
    backtest_scenario,
    read_journal,
    recorded_workspace,
)
from itinera.simulate.runner import simulate
from itinera.storage import schema as t
from itinera.storage.engine import create_engine
from itinera.timeutil import parse_instant

from .test_live_equivalence import run_live

START = parse_instant("2026-01-05T09:00:00Z")
DAY = timedelta(days=1)

# The live workspace: the journey "outreach" runs live; people click and accounts change.
LIVE = """
start: 2026-01-05T09:00:00Z
until: 12d
data:
  csms: [{id: ann, name: Ann Lee, email: ann@vendor.test}]
  scoring: {email.clicked: 10}
  accounts:
    - {id: acme, csm: ann, attributes: {name: Acme, tier: gold}}
    - {id: beta, attributes: {name: Beta, tier: silver}}
  people:
    - {id: p1, account: acme, email: cto@acme.test, attributes: {title: CTO}}
    - {id: p2, account: beta, email: ceo@beta.test, attributes: {title: CEO}}
  segments:
    - {id: gold, when: {account.tier: gold}}
  templates:
    - {id: intro, subject: "An idea for {{ account.name }}"}
    - {id: thanks, subject: "Thanks, {{ account.name }}"}
journeys:
  - id: outreach
    entry: {segments: [gold], existing: true}
    start: intro
    nodes:
      intro: {do: [{send_email: {template: intro}}], next: wait}
      wait: {wait: 3d, next: call}
      call: {do: [{create_task: {title: "Call {{ account.name }}", assignee: csm, due: 1d}}]}
timeline:
  - {at: 0s, enable: outreach}
  - {at: 1d, event: {type: email.clicked, person: p1}}
  - {at: 3d, event: {type: email.clicked, person: p2}}
  - {at: 4d, upsert_account: {id: gamma, attributes: {name: Gamma, tier: gold}}}
  - {at: 4d, upsert_person: {id: p3, account: gamma, email: vp@gamma.test}}
  - {at: 5d, event: {id: click-p3, type: email.clicked, person: p3}}
  - {at: 6d, upsert_account: {id: beta, attributes: {tier: gold}}}
  - {at: 7d, disable: outreach}
  - {at: 8d, event: {type: email.clicked, person: p1}}
  - {at: 10d, event: {type: email.clicked, person: p2}}
"""

# The draft: thank whoever clicks, two days later.
DRAFT = """
id: thank-clickers
entry: {event: {type: email.clicked}}
start: pause
nodes:
  pause: {wait: 2d, next: thank}
  thank: {do: [{send_email: {template: thanks}}]}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def recorded(tmp_path: Path, database_url: str) -> str:
    """A database on which a live service ran LIVE (configure, load_world, publish, then the
    timeline, each input at its instant)."""
    run_live(load_scenario(write(tmp_path, "live.yaml", LIVE)), database_url)
    return database_url


def equivalent(tmp_path: Path, since_days: int, until_days: int) -> dict[str, Any]:
    """The scenario a user would write for the same question: LIVE's data and inputs before
    the end, without the live journey, and the draft published and enabled at ``since``."""
    live = yaml.safe_load(LIVE)
    draft = yaml.safe_load(DRAFT)
    timeline = [e for e in live["timeline"]
                if not {"enable", "disable"} & set(e) and int(e["at"][:-1]) < until_days]
    at_since = next(i for i, e in enumerate(timeline) if int(e["at"][:-1]) >= since_days)
    timeline[at_since:at_since] = [{"at": f"{since_days}d", "publish": draft},
                                   {"at": f"{since_days}d", "enable": draft["id"]}]
    scenario = {"start": live["start"], "until": f"{until_days}d", "data": live["data"],
                "timeline": timeline}
    simulation = simulate(load_scenario(write(tmp_path, "equivalent.yaml", yaml.safe_dump(scenario))))
    try:
        return simulation.result()
    finally:
        simulation.store.close()


def backtest(tmp_path: Path, database_url: str, since_days: int, until_days: int,
             *, with_live_journeys: bool = False) -> dict[str, Any]:
    since, until = START + since_days * DAY, START + until_days * DAY
    entries = read_journal(database_url, until)
    draft = load_journey_file(write(tmp_path, "draft.yaml", DRAFT), recorded_workspace(entries))
    plan = backtest_scenario(entries, draft, since, until, with_live_journeys=with_live_journeys)
    simulation = simulate(plan.loaded)
    try:
        return simulation.result()
    finally:
        simulation.store.close()


def counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                    for name, table in t.metadata.tables.items()}
    finally:
        engine.dispose()


def test_backtest_equals_simulating_the_same_inputs_with_the_draft(
        tmp_path: Path, recorded: str) -> None:
    result = backtest(tmp_path, recorded, 2, 9)
    assert json.dumps(result) == json.dumps(equivalent(tmp_path, 2, 9))
    # Clicks at 3d, 5d and 8d (the one at 1d came before --from); acme's thanks falls after --to.
    assert [(e["journey"], e["account"], e["status"]) for e in result["enrollments"]] == [
        ("thank-clickers", "beta", "completed"), ("thank-clickers", "gamma", "completed"),
        ("thank-clickers", "acme", "active")]
    assert [(d["account"], d["at"]) for d in result["deliveries"]] == [
        ("beta", "2026-01-10T09:00:00Z"), ("gamma", "2026-01-12T09:00:00Z")]
    assert result["accounts"]["beta"]["attributes"]["tier"] == "gold"  # the world as recorded


def test_the_window_bounds_what_is_replayed(tmp_path: Path, recorded: str) -> None:
    late = backtest(tmp_path, recorded, 6, 12)
    assert json.dumps(late) == json.dumps(equivalent(tmp_path, 6, 12))
    assert [e["enrolled_at"] for e in late["enrollments"]] == ["2026-01-13T09:00:00Z",
                                                               "2026-01-15T09:00:00Z"]
    early = backtest(tmp_path, recorded, 0, 5)  # the click at 5d is at --to: not replayed
    assert [e["account"] for e in early["enrollments"]] == ["acme", "beta"]
    assert early["clock"] == {"start": "2026-01-05T09:00:00Z", "end": "2026-01-10T09:00:00Z"}
    assert "gamma" in early["accounts"] and "p3" in early["people"]


def test_live_journeys_run_only_when_asked(tmp_path: Path, recorded: str) -> None:
    alone = backtest(tmp_path, recorded, 2, 9)
    assert not [e for e in alone["enrollments"] if e["journey"] == "outreach"]
    together = backtest(tmp_path, recorded, 2, 9, with_live_journeys=True)
    outreach = [e["account"] for e in together["enrollments"] if e["journey"] == "outreach"]
    assert outreach == ["acme", "gamma", "beta"]  # enabled at 0s, disabled at 7d, as recorded
    assert [t_["title"] for t_ in together["tasks"]] == ["Call Acme"]
    # gamma has no people yet and no CSM: its email and its task reach nobody, and are skipped
    assert [(s["account"], s["channel"], s["reason"]) for s in together["skipped"]
            if s["journey"] == "outreach"] == [("gamma", "email", "no_recipients"),
                                               ("gamma", "task", "no_assignee")]


def test_nothing_is_written_to_the_live_database(tmp_path: Path, recorded: str) -> None:
    before = counts(recorded)
    result = backtest(tmp_path, recorded, 2, 9)
    assert [d["status"] for d in result["deliveries"]] == ["sent"] * 2  # sandbox: nothing sent
    assert counts(recorded) == before
    engine = create_engine(recorded)
    try:
        with engine.connect() as connection:
            journeys = set(connection.execute(sa.select(t.effects.c.journey)).scalars())
    finally:
        engine.dispose()
    assert journeys == {"outreach"}  # no effect of the draft in the outbox


def test_the_journal_keeps_every_applied_input_in_arrival_order(recorded: str) -> None:
    entries = read_journal(recorded, START + 30 * DAY)
    kinds = [e.kind for e in entries]
    assert kinds[:3] == ["configure", "load_world", "publish"]
    assert kinds[3:] == [next(iter(e.keys() - {"at"})) for e in yaml.safe_load(LIVE)["timeline"]]
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)
    assert all(e.applied_at >= e.received_at for e in entries)
    assert read_journal(recorded, START + DAY)[-1].kind == "enable"  # received before 1d only


def test_a_world_loaded_after_other_inputs_is_refused_with_its_place(database_url: str) -> None:
    service = Service(database_url, ManualClock(START), sandbox=True)
    try:
        service.submit([{"upsert_account": {"id": "acme"}}, {"load_world": {"accounts": [{"id": "b"}]}}])
        service.work()
        seq = read_journal(database_url, START + DAY)[1].seq
    finally:
        service.close()
    draft = Journey.model_validate(yaml.safe_load(DRAFT))
    with pytest.raises(BacktestError, match=rf"journal\[{seq}\] \(load_world received "):
        backtest_scenario(read_journal(database_url, START + DAY), draft, START, START + DAY)


def test_a_database_without_a_journal_or_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BacktestError, match="no database file"):
        read_journal(f"sqlite:///{tmp_path}/none.db", START)
    assert not (tmp_path / "none.db").exists()  # not created either
    other = tmp_path / "other.db"
    engine = sa.create_engine(f"sqlite:///{other}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE things (id INTEGER)")
    engine.dispose()
    with pytest.raises(ItineraError, match="no journal"):
        read_journal(f"sqlite:///{other}", START)
