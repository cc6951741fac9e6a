"""Run a scenario written inline in a test and return the result dict (spec/scenarios.md).

Every test of this folder takes the ``database_url`` fixture (tests/conftest.py), so each
scenario runs on a fresh SQLite file and on a fresh PostgreSQL schema.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from itinera.definitions.loader import load_scenario
from itinera.simulate.runner import simulate
from itinera.storage import schema as store_schema

__all__ = ["START", "T", "by", "enrollment", "enrollments", "reset_database", "run",
           "simulated_and_live"]


def _write(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run(tmp_path: Path, database_url: str, text: str, name: str = "scenario.yaml") -> dict[str, Any]:
    """Write ``text`` (YAML, dedented) to ``tmp_path``, load it, simulate it on
    ``database_url`` and return the result dict; the store is closed afterwards."""
    loaded = load_scenario(_write(tmp_path, text, name))
    simulation = simulate(loaded, database_url=database_url)
    try:
        return simulation.result()
    finally:
        simulation.store.close()


def enrollments(result: dict[str, Any], journey: str | None = None,
                account: str | None = None) -> list[dict[str, Any]]:
    """The result's enrollments of ``journey`` / ``account``, in result order."""
    return [e for e in result["enrollments"]
            if (journey is None or e["journey"] == journey)
            and (account is None or e["account"] == account)]


def enrollment(result: dict[str, Any], journey: str, account: str) -> dict[str, Any]:
    """The one enrollment of ``journey`` for ``account`` (fails when there are several)."""
    found = enrollments(result, journey, account)
    assert len(found) == 1, f"{len(found)} enrollments of {journey}/{account}: {found}"
    return found[0]


def by(items: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    """Project a result list onto ``keys``, keeping its order."""
    return [tuple(item[k] for k in keys) for item in items]


START = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
"""The ``start`` every scenario of this folder uses: 2026-01-05T09:00:00Z."""

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def T(*offsets: str) -> str:
    """``START`` plus the given offsets (``"2d"``, ``"-3h"``), as the result writes instants:
    ``T("2d") == "2026-01-07T09:00:00Z"``. Independent of the engine's own time code."""
    total = 0
    for offset in offsets:
        total += int(offset[:-1]) * _UNIT_SECONDS[offset[-1]]
    return (START + timedelta(seconds=total)).strftime("%Y-%m-%dT%H:%M:%SZ")


def reset_database(database_url: str) -> None:
    """Drop every table of the store (and its migration version, or the next store would take
    the empty database for an up-to-date one) so that the same URL can run a second scenario."""
    engine = sa.create_engine(database_url)
    try:
        store_schema.metadata.drop_all(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    finally:
        engine.dispose()


def simulated_and_live(tmp_path: Path, database_url: str, text: str) -> tuple[dict[str, Any],
                                                                              dict[str, Any]]:
    """The result of ``text`` simulated on ``database_url``, then of the same inputs run
    through the live service on the same (emptied) database: (simulated, live)."""
    from .test_live_equivalence import run_live  # a test module that imports this one

    simulated = run(tmp_path, database_url, text, "simulated.yaml")
    reset_database(database_url)
    return simulated, run_live(load_scenario(_write(tmp_path, text, "live.yaml")), database_url)
