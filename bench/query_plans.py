"""Print the plans of the store's hot queries on a world of ``bench/segments.py``.

    .venv/bin/python bench/query_plans.py sqlite:////tmp/itinera-segments/segments-1000000.db
    .venv/bin/python bench/query_plans.py 'postgresql+psycopg://…?options=-csearch_path%3Dbench_segments_1000000'

The queries, exactly as the store sends them (compiled by SQLAlchemy with their parameters): an
account's events (``events_of``, all and of one type, and the API's latest events), what a
round takes and loads for its accounts (``take_round``, ``load_accounts``), the timers of an
account, a frequency cap's count, an account's latest effects, and a segment's full rebuild
(``fill_segment``'s ``SELECT``). SQLite: ``EXPLAIN QUERY PLAN``; PostgreSQL: ``EXPLAIN``
(estimates, nothing run). The world has no enrollments, timers, effects, buying groups or
memberships to speak of: one of each per account (per person for effects) replaces them for the
plans, in a transaction rolled back at the end, and analyzed (a planner reads an empty table at
once).
"""

from __future__ import annotations

import sys
from typing import Any

import sqlalchemy as sa
from _segments_world import NOW  # bench/ is on the path
from segments import SEGMENTS

from itinera.conditions import parse_condition
from itinera.conditions.sql import select_accounts
from itinera.storage import schema as t
from itinera.storage.engine import create_engine, json_text
from itinera.storage.inbox import _round_query
from itinera.storage.rows import account_events
from itinera.storage.sql import CONDITION_TABLES
from itinera.storage.sql_reads import reads
from itinera.storage.sql_timers import _timers_of_query


def queries(dialect: str) -> list[tuple[str, Any, dict[str, Any]]]:
    ids: Any = ["a4242", "a77"] if dialect == "postgresql" else json_text(["a4242", "a77"])
    events, typed = account_events(False), account_events(True)
    persons: Any = ["p21210"] if dialect == "postgresql" else json_text(["p21210"])
    load = reads(dialect)
    rebuild = select_accounts(parse_condition(SEGMENTS["vp_webinar"]), NOW, dialect,
                              CONDITION_TABLES)
    return [
        ("events_of(account)", sa.select(events).order_by(events.c.seq), {"account": "a4242"}),
        ("events_of(account, type)", sa.select(typed).order_by(typed.c.seq),
         {"account": "a4242", "type": "webinar.attended"}),
        ("views.events_of (latest 200)", sa.select(events).order_by(events.c.seq.desc())
         .limit(200), {"account": "a4242"}),
        ("a lone worker's take (inputs, their events known, the config version)",
         _round_query(500), {}),
        ("load_accounts: people (of accounts, and of people's accounts)", load.load_people,
         {"ids": ids, "persons": persons}),
        ("load_accounts: accounts with segments and buying groups", load.load_accounts,
         {"ids": ids}),
        ("load_accounts: enrollments", load.load_enrollments, {"ids": ids}),
        ("timers of accounts", _timers_of_query(dialect), {"ids": ids}),
        ("deliveries_since (frequency cap)", sa.select(sa.func.count()).select_from(t.effects)
         .where(t.effects.c.person == "p21210", t.effects.c.channel == "email",
                t.effects.c.at > NOW, t.effects.c.status != "skipped"), {}),
        ("views.effects_of (account page, latest 200)", sa.select(t.effects)
         .where(t.effects.c.account == "a4242").order_by(t.effects.c.id.desc()).limit(200), {}),
        ("fill_segment(vp_webinar)", rebuild, {}),
    ]


_LIVE_ROWS = [
    "DELETE FROM enrollments", "DELETE FROM timers", "DELETE FROM effects",
    "DELETE FROM segment_members", "DELETE FROM buying_groups",
    "INSERT INTO segment_members (segment, account) SELECT 'all', id FROM accounts",
    "INSERT INTO buying_groups (account, solution, seq, members, engagement_score, "
    "completeness_score) SELECT id, 'S1', seq, '[]', 0, 0 FROM accounts",
    "INSERT INTO enrollments (id, journey, version, account, status, goal_achieved, "
    "enrolled_at, path, variants, state) SELECT seq, 'bench', 1, id, CASE WHEN seq % 3 = 0 "
    "THEN 'active' ELSE 'completed' END, false, created_at, '[]', '{}', '{}' FROM accounts",
    "INSERT INTO timers (id, due_at, kind, account, held, payload) "
    "SELECT seq, created_at, 'reeval', id, false, '{}' FROM accounts",
    "INSERT INTO effects (id, key, channel, status, account, person, at, payload, attempts) "
    "SELECT seq, 'k' || seq, 'email', 'sent', account, id, "
    "(SELECT min(created_at) FROM accounts), '{}', 0 FROM people",
]


def main() -> None:
    engine = create_engine(sys.argv[1])
    dialect = engine.dialect.name
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    with engine.connect() as connection, connection.begin() as transaction:
        for statement in _LIVE_ROWS:
            connection.exec_driver_sql(statement.replace("%", "%%") if dialect != "sqlite"
                                       else statement)
        connection.exec_driver_sql("ANALYZE")
        for name, query, params in queries(dialect):
            compiled = query.compile(dialect=engine.dialect)
            values = {**compiled.params, **params}
            if compiled.positiontup is not None:  # SQLite's ? placeholders
                bound: Any = tuple(values[key] for key in compiled.positiontup)
            else:
                bound = values
            rows = connection.exec_driver_sql(explain + str(compiled), bound).all()
            print(f"{name}:")
            for row in rows:
                print("    " + (row[-1] if dialect == "sqlite" else row[0]))
        transaction.rollback()


if __name__ == "__main__":
    main()
