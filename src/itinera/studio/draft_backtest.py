"""A draft journey's dry run over the last days of recorded history, for the studio: the
backtest of ``itinera backtest`` (``simulate.backtest``: the journal replayed in the
simulator, the draft enabled at the window's start, every channel in sandbox), answered as
per-node counts (for the graph) and a sample of the draft's enrollments with their paths and
decisions.

:func:`journal_size` is the size check made before a run (the whole journal before the window's
end is replayed: the world is built from the start of the history); :func:`backtest_draft` is
what a check's child process runs (``studio.runs``): it reads the live store read-only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from itinera.analytics.report import node_counts
from itinera.definitions.validate import validate_journey
from itinera.errors import DefinitionError, ItineraError
from itinera.simulate.backtest import backtest_scenario, read_journal, recorded_workspace
from itinera.simulate.runner import simulate
from itinera.storage import queries
from itinera.storage import schema as t
from itinera.timeutil import format_instant

__all__ = ["MAX_DAYS", "MAX_INPUTS", "SAMPLE", "backtest_draft", "journal_size"]

MAX_DAYS = 90
MAX_INPUTS = 50_000  # recorded inputs a studio backtest replays; more: `itinera backtest`
SAMPLE = 20  # enrollments shown with their paths and decisions


def journal_size(connection: sa.Connection, until: datetime) -> int:
    """How many recorded inputs a backtest to ``until`` replays."""
    return int(connection.execute(sa.select(sa.func.count()).select_from(t.journal)
                                  .where(t.journal.c.received_at < until)).scalar_one())


def backtest_draft(database_url: str, draft: dict[str, Any], since: datetime, until: datetime,
                   with_live_journeys: bool = False, sample: int = SAMPLE) -> dict[str, Any]:
    """The backtest of ``draft`` (a journey as JSON) from ``since`` to ``until`` over the store
    at ``database_url`` (only read): ``{from, to, replayed, before_since, left_out,
    enrollments, nodes: {node: {entered, waiting, ended}}, sample: [...], problems}``."""
    out: dict[str, Any] = {"from": format_instant(since), "to": format_instant(until),
                           "problems": []}
    try:
        entries = read_journal(database_url, until)
        journey, problems = validate_journey(draft, "", recorded_workspace(entries))
        if journey is None:
            out["problems"] = [{"place": p.place, "message": p.message} for p in problems]
            return out
        plan = backtest_scenario(entries, journey, since, until,
                                 with_live_journeys=with_live_journeys)
        simulation = simulate(plan.loaded, record_history=True)
    except DefinitionError as error:
        out["problems"] = [{"place": p.place, "message": p.message} for p in error.problems]
        return out
    except ItineraError as error:
        out["problems"] = [{"place": "", "message": str(error)}]
        return out
    store = simulation.store
    try:
        connection = store.conn
        counts = node_counts(connection, journey.id)
        e, a = t.enrollments, t.accounts
        total = connection.execute(sa.select(sa.func.count()).select_from(e)
                                   .where(e.c.journey == journey.id)).scalar_one()
        rows = connection.execute(
            sa.select(e.c.id, e.c.account, e.c.status, e.c.goal_achieved, e.c.path,
                      e.c.reason, a.c.attributes)
            .join(a, a.c.id == e.c.account, isouter=True)
            .where(e.c.journey == journey.id).order_by(e.c.id).limit(sample)).all()
        out["sample"] = [{
            "account": r.account, "name": (r.attributes or {}).get("name"), "status": r.status,
            "goal_achieved": r.goal_achieved, "reason": r.reason, "path": list(r.path),
            "decisions": queries.history(connection, r.id)} for r in rows]
    finally:
        store.close()
    out.update(replayed=plan.replayed, before_since=plan.before_since, left_out=plan.left_out,
               enrollments=int(total),
               nodes={n: {"entered": c.entered, "waiting": c.waiting, "ended": c.ended}
                      for n, c in counts.items()})
    return out
