"""Benchmark: journey analytics over N enrollments.

    .venv/bin/python bench/analytics_report.py --enrollments 100000 [--database URL]

Writes N made-up enrollments of one journey (an action, a 50/50 experiment, a wait, an end;
statuses, goals and days at random, seeded) straight into the enrollments table of a fresh
store — the engine is not what is measured here — then times ``node_counts``,
``journey_summary`` and the whole ``journey_report``. The database defaults to a temporary
SQLite file; a PostgreSQL URL should point at an empty schema.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from itinera.analytics.report import journey_report, journey_summary, node_counts
from itinera.storage import schema as t
from itinera.storage.sql import SqlStore

START = datetime(2026, 1, 5, 9, tzinfo=UTC)
JOURNEY: dict[str, Any] = {
    "id": "big", "name": "Big", "entry": {"segments": ["s"]},
    "goal": {"when": {"account.converted": True}}, "start": "welcome",
    "nodes": {
        "welcome": {"do": [{"set": {"account.welcomed": True}}], "next": "offer"},
        "offer": {"experiment": {"name": "offer", "variants": [
            {"name": "control", "weight": 1, "next": "wait"},
            {"name": "treatment", "weight": 1, "next": "wait"}]}},
        "wait": {"wait": "3d", "next": "done"},
        "done": {"end": True},
    },
}


def enrollment(i: int, rng: random.Random) -> dict[str, Any]:
    enrolled = START + timedelta(seconds=rng.randrange(30 * 86400))
    status = rng.choice(["active", "completed", "exited", "unenrolled"])
    goal = status == "exited" or rng.random() < 0.1
    return {
        "id": i + 1, "journey": "big", "version": 1, "account": f"a{i}", "status": status,
        "goal_achieved": goal, "goal_at": enrolled + timedelta(hours=rng.randrange(200)) if goal else None,
        "enrolled_at": enrolled, "ended_at": None if status == "active" else enrolled + timedelta(days=3),
        "reason": None, "path": ["welcome", "offer", "wait"] + (["done"] if status == "completed" else []),
        "variants": {"offer": rng.choice(["control", "treatment"])},
        "state": {"tokens": [{"id": 1, "node": "wait", "people": [], "forks": [], "state": "wait"}]
                  if status == "active" else []},
    }


def measure(url: str, count: int) -> None:
    store = SqlStore(url, exclusive=False)
    rng = random.Random(7)
    with store.engine.begin() as connection:
        connection.execute(sa.insert(t.journeys), [{"id": "big", "version": 1, "definition": JOURNEY,
                                                    "published_at": START}])
        for first in range(0, count, 10_000):
            connection.execute(sa.insert(t.enrollments), [
                enrollment(i, rng) for i in range(first, min(first + 10_000, count))])
    with store.engine.connect() as connection:
        measured: list[tuple[str, Callable[[], object]]] = [
            ("node_counts", lambda: node_counts(connection, "big")),
            ("journey_summary", lambda: journey_summary(connection, "big")),
            ("journey_report", lambda: journey_report(connection, "big")),
        ]
        print(f"{count} enrollments on {store.dialect}")
        for name, call in measured:
            began = time.perf_counter()
            call()
            print(f"- {name}: {time.perf_counter() - began:.2f} s")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrollments", type=int, default=100_000)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    if args.database is not None:
        measure(args.database, args.enrollments)
        return
    with tempfile.TemporaryDirectory() as folder:
        measure(f"sqlite:///{folder}/analytics.db", args.enrollments)


if __name__ == "__main__":
    main()
