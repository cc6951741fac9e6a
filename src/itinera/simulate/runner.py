"""Run a scenario: the live engine on an embedded store, a virtual clock, channels in sandbox.

The runner only turns timeline entries into engine inputs at their instants; every meaning
comes from the engine itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itinera.definitions.loader import LoadedScenario
from itinera.engine.commands import apply_entry
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
            apply_entry(engine, entry, at, f"timeline-{index}")
        engine.run_due(end)
    return Simulation(start, end, engine, store)
