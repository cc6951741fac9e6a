"""Benchmark: N generated accounts (5 people each) through the AJO example over 30 virtual days.

    .venv/bin/python bench/ajo_scale.py --accounts 100000

Generates a plausible world (states, titles, buying groups), enables the Bodea-Product X journey
of examples/, feeds opens and clicks over the month, and runs the virtual clock to the end on the
embedded SQLite store — the same engine and store `itinera simulate` uses. Prints the time of
each phase; `--write` appends the figures to docs/performance.md.
"""

from __future__ import annotations

import argparse
import platform
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from itinera.definitions.loader import load_scenario
from itinera.definitions.scenario import (
    AccountData,
    BuyingGroupData,
    MemberData,
    PersonData,
    ScenarioData,
)
from itinera.domain.model import Event
from itinera.engine.engine import Engine
from itinera.engine.setup import configure, load_world
from itinera.storage.sql import SqlStore

ROOT = Path(__file__).resolve().parent.parent
TITLES = ["CEO", "CFO", "Product SME", "Product Analyst", "Developer"]
STATES = ["CA", "NY", "TX", "WA"]


def world(accounts: int, rng: random.Random) -> ScenarioData:
    example = load_scenario(ROOT / "examples" / "ajo-bodea-product-x.scenario.yaml").scenario.data
    rows, people, groups = [], [], []
    for i in range(accounts):
        aid = f"acc{i:06d}"
        rows.append(AccountData(id=aid, csm=rng.choice(["ann", "bob"]), attributes={
            "name": f"Company {i}", "size": "Large" if rng.random() < 0.8 else "Small",
            "state": rng.choice(STATES), "interest": "Bodea-Product X"}))
        members = []
        for j, title in enumerate(TITLES):
            pid = f"{aid}-p{j}"
            people.append(PersonData(id=pid, account=aid, email=f"p{j}@{aid}.test",
                                     attributes={"title": title}))
            if j < 4 and rng.random() < 0.5:
                role = {0: "Decision Maker", 1: "Decision Maker", 2: "Product SME"}.get(
                    j, "Product Analyst")
                members.append(MemberData(person=pid, role=role))
        if members:
            groups.append(BuyingGroupData(account=aid, solution="Bodea-Product X",
                                          template="enterprise", members=members))
    return example.model_copy(update={"accounts": rows, "people": people, "buying_groups": groups})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--database", default="sqlite://")
    parser.add_argument("--write", action="store_true", help="record in docs/performance.md")
    args = parser.parse_args()
    rng = random.Random(7)
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    times: dict[str, float] = {}

    began = time.perf_counter()
    data = world(args.accounts, rng)
    journey = load_scenario(ROOT / "examples" / "ajo-bodea-product-x.scenario.yaml").journeys[0]
    times["generate the data"] = time.perf_counter() - began

    began = time.perf_counter()
    store = SqlStore(args.database)
    engine = Engine(store, sandbox=True, record_history=False)  # as `itinera simulate`
    configure(engine, data)
    batch = engine.batch()  # as `itinera simulate` runs: one transaction, one in-memory world
    batch.__enter__()
    load_world(engine, data, start)
    engine.publish(journey, start)
    times["load the world"] = time.perf_counter() - began

    began = time.perf_counter()
    engine.enable(journey.id, start)
    times["enable (enroll existing)"] = time.perf_counter() - began

    began = time.perf_counter()
    events = []
    for person in data.people:
        if rng.random() < 0.3:
            at = start + timedelta(seconds=rng.randrange(args.days * 86400))
            events.append((at, rng.choice(["email.opened", "email.clicked"]), person.id))
    events.sort()
    for n, (at, kind, person) in enumerate(events):
        engine.run_due(at)
        engine.ingest(Event(id=f"e{n}", type=kind, person=person, at=at), at)
    engine.run_due(start + timedelta(days=args.days))
    batch.__exit__(None, None, None)
    times[f"run {args.days} days ({len(events)} events)"] = time.perf_counter() - began
    total = sum(times.values())
    itinera = total - times["generate the data"]
    with store.transaction():
        statuses: dict[str, int] = {}
        for e in store.enrollments():
            statuses[e.status] = statuses.get(e.status, 0) + 1
    store.close()

    lines = [f"- {name}: {seconds:.1f} s" for name, seconds in times.items()]
    summary = (f"### AJO journey, {args.accounts:,} accounts × 5 people, {args.days} virtual days "
               f"({args.database.split(':')[0]})\n\n"
               f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, "
               f"{platform.python_implementation()} {platform.python_version()}, "
               f"{_cpus()} cores.\n\n" + "\n".join(lines)
               + f"\n- **Itinera's phases: {itinera:.1f} s** (all: {total:.1f} s); "
               f"enrollments: {statuses}\n")
    print(summary)
    if args.write:
        path = ROOT / "docs" / "performance.md"
        text = path.read_text() if path.exists() else "# Performance\n\n"
        path.write_text(text.rstrip() + "\n\n" + summary)


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
