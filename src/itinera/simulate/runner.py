"""Run a scenario: the live engine on an embedded store, a virtual clock, channels in sandbox.

The runner only turns timeline entries into engine inputs at their instants; every meaning
comes from the engine itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itinera.definitions.loader import LoadedScenario
from itinera.definitions.models import Journey
from itinera.definitions.scenario import TimelineEntry
from itinera.domain.model import Event
from itinera.engine.engine import Engine
from itinera.engine.setup import configure, load_world
from itinera.simulate.result import build_result
from itinera.storage.sql import SqlStore
from itinera.timeutil import parse_duration, parse_instant

__all__ = ["Simulation", "simulate"]


@dataclass
class Simulation:
    start: datetime
    end: datetime
    engine: Engine
    store: SqlStore

    def result(self) -> dict[str, Any]:
        return build_result(self.store, self.engine.workspace, self.start, self.end)


def simulate(loaded: LoadedScenario, until: timedelta | None = None,
             database_url: str = "sqlite://", record_history: bool = False) -> Simulation:
    """Run ``loaded`` to its end (``until`` overrides the file's) and return the simulation.

    The result does not include enrollments' decision traces, so by default they are not
    recorded (``record_history`` turns them on, e.g. to inspect one run in its store).
    """
    scenario = loaded.scenario
    start = parse_instant(scenario.start)
    end = start + (until if until is not None else parse_duration(scenario.until))
    store = SqlStore(database_url)
    engine = Engine(store, sandbox=True, record_history=record_history)
    configure(engine, scenario.data)
    entries = sorted(enumerate(scenario.timeline),
                     key=lambda item: (parse_duration(item[1].at), item[0]))
    with engine.batch():  # one transaction: nothing outside sees a half-run simulation
        load_world(engine, scenario.data, start)
        for journey in loaded.journeys:
            engine.publish(journey, start)
        for index, entry in entries:
            at = start + parse_duration(entry.at)
            if at > end:
                break
            engine.run_due(at)
            _apply(engine, index, entry, at)
        engine.run_due(end)
    return Simulation(start, end, engine, store)


def _apply(engine: Engine, index: int, entry: TimelineEntry, at: datetime) -> None:
    kind = entry.kind
    if kind in ("enable", "disable", "pause", "resume"):
        getattr(engine, kind)(getattr(entry, kind), at)
    elif kind == "publish":
        assert entry.publish is not None
        engine.publish(Journey.model_validate(entry.publish), at)
    elif kind == "event":
        body = entry.event
        assert body is not None
        engine.ingest(Event(
            id=body.id or f"timeline-{index}", type=body.type, account=body.account,
            person=body.person, at=parse_instant(body.at) if body.at else at,
            properties=dict(body.properties)), at)
    elif kind == "upsert_account":
        data = entry.upsert_account
        assert data is not None
        builtins: dict[str, Any] = {}
        for name in ("csm", "playbooks"):
            if name in data.model_fields_set:
                builtins[name] = getattr(data, name)
        if data.created_at is not None:
            builtins["created_at"] = parse_instant(data.created_at)
        engine.upsert_account(data.id, at, dict(data.attributes), **builtins)
    elif kind == "upsert_person":
        person = entry.upsert_person
        assert person is not None
        fields = {name: getattr(person, name) for name in
                  ("account", "email", "attributes", "unsubscribed", "score")
                  if name in person.model_fields_set}
        engine.upsert_person(person.id, at, **fields)
    elif kind == "delete_person":
        assert entry.delete_person is not None
        engine.delete_person(entry.delete_person, at)
    elif kind == "add_to_buying_group":
        member = entry.add_to_buying_group
        assert member is not None
        engine.add_to_buying_group(member.account, member.solution, member.person, member.role,
                                   member.template, at)
