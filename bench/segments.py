"""Benchmark: segments over a generated B2B world, beside hand-written SQL on the same tables.

    .venv/bin/python bench/segments.py                          # 100,000 accounts, both backends
    .venv/bin/python bench/segments.py --accounts 100000 1000000 --only sqlite --write

The world (``_segments_world``): ``--accounts`` accounts, 5 people and 10 events each (half
of the events carry only a person). It is built once, set-wise, and kept for the next runs: a
SQLite file in ``--data``, a PostgreSQL schema ``bench_segments_N`` (``--fresh`` rebuilds).

Measured, in the same run, on the same tables, each side ``--repeat`` times alternately (the
machine is shared: the fastest run counts, the others are listed):

- Full rebuild, per segment: Itinera's ``SqlStore.fill_segment`` (what loading a world does)
  against one hand-written ``INSERT … SELECT``; both fill the segment's rows from empty and
  commit, and must find the same accounts.
- One account's step after one event, on ``--steps`` accounts: Itinera's live service
  (``Service.submit`` then ``work``, the worker's transaction: the account's records and
  events read, its segments evaluated and their changes written) against a hand-written
  transaction (insert the event, compute the three segments of that account in one query,
  rewrite its memberships). The median and the 90th percentile.

SQLite runs in this process, so its CPU time is shown too. ``--phases`` runs one of the two
measures only; ``--write`` records the figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _common import POSTGRES_URL, machine, percentile, record  # bench/ is on the path
from _segments_world import NOW, build, is_built

from itinera.conditions import parse_condition
from itinera.runtime import ManualClock, Service
from itinera.storage.engine import create_engine
from itinera.storage.sql import SqlStore

SEGMENTS: dict[str, dict[str, Any]] = {
    "vp_webinar": {  # the segment of issue 11
        "account.size": "Large",
        "people": {"match": {"person.title": {"contains": "VP"}}},
        "performed": {"event": "webinar.attended", "within_last": "30d", "count": {"gte": 2}}},
    "pricing_recent": {
        "account.industry": {"in": ["Software", "Fintech"]},
        "performed": {"event": "page.viewed", "within_last": "7d",
                      "where": {"properties.path": {"starts_with": "/pricing"}}}},
    "cold_big": {
        "account.size": {"in": ["Large", "Medium"]},
        "people": {"match": {"person.score": {"gte": 50}}, "count": {"gte": 2}},
        "not": {"performed": {"event": "email.opened", "within_last": "90d"}}},
}


# -- hand-written SQL --------------------------------------------------------------------------
def _attr(dialect: str, column: str, key: str) -> str:
    if dialect == "postgresql":
        return f"({column} ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def _rebuild_sql(dialect: str) -> dict[str, str]:
    """Each segment's test of account ``a`` for the full rebuild, written by hand for
    ``dialect``: semi-joins on lists of accounts, each list one pass over its table."""
    pg = dialect == "postgresql"

    def events(kind: str, since: str, extra: str = "") -> str:
        """The accounts of the events of ``kind`` since ``:since`` (one row per event)."""
        return (f"SELECT account FROM events WHERE type = '{kind}' AND at > :{since} "
                f"AND at <= :now AND account IS NOT NULL{extra} UNION ALL "
                f"SELECT p.account FROM events e JOIN people p ON p.id = e.person "
                f"WHERE e.type = '{kind}' AND e.at > :{since} AND e.at <= :now "
                f"AND e.account IS NULL{extra.replace('properties', 'e.properties')}")

    contains = "strpos" if pg else "instr"
    pricing = f" AND substr({_attr(dialect, 'properties', 'path')}, 1, 8) = '/pricing'"
    opened = (  # PostgreSQL: NOT IN a list that outgrows work_mem is tested row by row
        "NOT EXISTS (SELECT 1 FROM events WHERE account = a.id AND type = 'email.opened' "
        "AND at > :d90 AND at <= :now) AND NOT EXISTS (SELECT 1 FROM events e JOIN people p "
        "ON p.id = e.person WHERE p.account = a.id AND e.account IS NULL "
        "AND e.type = 'email.opened' AND e.at > :d90 AND e.at <= :now)"
        if pg else f"a.id NOT IN ({events('email.opened', 'd90')})")
    size = _attr(dialect, "a.attributes", "size")
    return {
        "vp_webinar":
            f"{size} = 'Large' AND a.id IN (SELECT account FROM people "
            f"WHERE {contains}({_attr(dialect, 'attributes', 'title')}, 'VP') > 0) AND a.id IN ("
            f"SELECT account FROM ({events('webinar.attended', 'd30')}) x "
            "GROUP BY account HAVING count(*) >= 2)",
        "pricing_recent":
            f"{_attr(dialect, 'a.attributes', 'industry')} IN ('Software', 'Fintech') "
            f"AND a.id IN ({events('page.viewed', 'd7', pricing)})",
        "cold_big":
            f"{size} IN ('Large', 'Medium') AND a.id IN (SELECT account FROM people "
            f"WHERE score >= 50 GROUP BY account HAVING count(*) >= 2) AND {opened}",
    }


def _account_sql(dialect: str) -> dict[str, str]:
    """Each segment's test of the one account ``a``, by hand: correlated subqueries, each an
    index lookup of that account's rows."""
    contains = "strpos" if dialect == "postgresql" else "instr"
    # SQLite would read the window of the type through events(type, at) — every account's
    # events of the type — rather than the account's: "+" keeps it off that index.
    plus = "" if dialect == "postgresql" else "+"

    def events(kind: str, since: str, extra: str = "") -> tuple[str, str]:
        return (f"FROM events WHERE account = a.id AND {plus}type = '{kind}' "
                f"AND at > :{since} AND at <= :now{extra}",
                f"FROM events e JOIN people p ON p.id = e.person WHERE p.account = a.id "
                f"AND e.account IS NULL AND {plus}e.type = '{kind}' AND e.at > :{since} "
                f"AND e.at <= :now{extra.replace('properties', 'e.properties')}")

    webinars = events("webinar.attended", "d30")
    pricing = events("page.viewed", "d7", f" AND substr({_attr(dialect, 'properties', 'path')}"
                                          ", 1, 8) = '/pricing'")
    opened = events("email.opened", "d90")
    size = _attr(dialect, "a.attributes", "size")
    return {
        "vp_webinar":
            f"{size} = 'Large' AND EXISTS (SELECT 1 FROM people WHERE account = a.id "
            f"AND {contains}({_attr(dialect, 'attributes', 'title')}, 'VP') > 0) "
            f"AND (SELECT count(*) {webinars[0]}) + (SELECT count(*) {webinars[1]}) >= 2",
        "pricing_recent":
            f"{_attr(dialect, 'a.attributes', 'industry')} IN ('Software', 'Fintech') "
            f"AND (EXISTS (SELECT 1 {pricing[0]}) OR EXISTS (SELECT 1 {pricing[1]}))",
        "cold_big":
            f"{size} IN ('Large', 'Medium') AND (SELECT count(*) FROM people "
            f"WHERE account = a.id AND score >= 50) >= 2 "
            f"AND NOT EXISTS (SELECT 1 {opened[0]}) AND NOT EXISTS (SELECT 1 {opened[1]})",
    }


def _instants(dialect: str) -> dict[str, Any]:
    """``:now`` and the window starts, as the store keeps instants (SQLite: naive UTC text)."""
    values = {"now": NOW, "d7": NOW - timedelta(days=7), "d30": NOW - timedelta(days=30),
              "d90": NOW - timedelta(days=90)}
    if dialect == "postgresql":
        return values
    return {k: v.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") for k, v in values.items()}


# -- timing ------------------------------------------------------------------------------------
def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Timing:
    """The fastest of the repeated runs of one side (wall seconds, with its CPU seconds)."""

    seconds: float = float("inf")
    cpu: float = 0.0
    runs: list[float] = field(default_factory=list)

    def measure(self, run: Callable[[], object]) -> object:
        cpu, began = _cpu(), time.perf_counter()
        result = run()
        seconds = time.perf_counter() - began
        self.runs.append(seconds)
        if seconds < self.seconds:
            self.seconds, self.cpu = seconds, _cpu() - cpu
        return result

    def text(self, cpu: bool) -> str:
        runs = ", ".join(f"{x:.2f}" for x in self.runs)
        spent = f" ({self.cpu:.2f} s CPU here)" if cpu else ""
        return f"**{self.seconds:.2f} s**{spent} (runs {runs})"


def _members(connection: sa.Connection, segment: str) -> set[str]:
    return set(connection.execute(sa.text(
        "SELECT account FROM segment_members WHERE segment = :s"), {"s": segment}).scalars())


def full_rebuild(url: str, repeat: int) -> list[str]:
    store = SqlStore(url, exclusive=False)
    dialect = store.dialect
    hand, instants = _rebuild_sql(dialect), _instants(dialect)
    lines: list[str] = []
    try:
        with store.transaction():
            ids = store.account_ids()
        for segment, raw in SEGMENTS.items():
            tree = parse_condition(raw)
            itinera, written = Timing(), Timing()
            found: dict[str, set[str]] = {}
            for _ in range(repeat):
                for side, timing in (("itinera", itinera), ("hand", written)):
                    with store.transaction():
                        store.conn.execute(sa.text("DELETE FROM segment_members"))

                    def itinera_run(tree: Any = tree, segment: str = segment) -> None:
                        with store.transaction():
                            store.fill_segment(segment, tree, NOW, ids)

                    def hand_run(segment: str = segment) -> None:
                        with store.transaction():
                            store.conn.execute(sa.text(
                                "INSERT INTO segment_members (segment, account) "
                                f"SELECT :segment, a.id FROM accounts a WHERE {hand[segment]}"),
                                {"segment": segment, **instants})

                    timing.measure(itinera_run if side == "itinera" else hand_run)
                    with store.transaction():
                        found[side] = _members(store.conn, segment)
            if found["itinera"] != found["hand"]:
                raise SystemExit(f"{segment}: Itinera and the hand-written query disagree "
                                 f"({len(found['itinera'])} vs {len(found['hand'])} accounts)")
            ratio = itinera.seconds / written.seconds
            cpu = dialect == "sqlite"
            lines.append(f"- `{segment}` ({len(found['hand']):,} accounts): Itinera "
                         f"{itinera.text(cpu)}; hand-written {written.text(cpu)}; "
                         f"**{ratio:.2f}×**")
            print(lines[-1], flush=True)
    finally:
        store.close()
    return lines


def _hand_step(connection: sa.Connection, dialect: str, event: dict[str, Any],
               account: str) -> None:
    """The hand-written transaction for one event: store it, compute the account's three
    segments in one query, rewrite its memberships."""
    hand, instants = _account_sql(dialect), _instants(dialect)
    at = event["at"] if dialect == "postgresql" else instants["now"]
    connection.execute(sa.text(
        "INSERT INTO events (id, seq, type, account, person, at, properties) "
        "VALUES (:id, 0, :type, NULL, :person, :at, :properties)"),
        {"id": event["id"], "type": event["type"], "person": event["person"], "at": at,
         "properties": "{}"})
    tests = ", ".join(f"CASE WHEN {test} THEN 1 ELSE 0 END" for test in hand.values())
    flags = connection.execute(sa.text(f"SELECT {tests} FROM accounts a WHERE a.id = :a"),
                               {"a": account, **instants}).one()
    connection.execute(sa.text("DELETE FROM segment_members WHERE account = :a"), {"a": account})
    for segment, flag in zip(hand, flags, strict=True):
        if flag:
            connection.execute(sa.text("INSERT INTO segment_members (segment, account) "
                                       "VALUES (:s, :a)"), {"s": segment, "a": account})


def account_steps(url: str, steps: int) -> list[str]:
    """One event for each of ``steps`` accounts spread over the world, through the live
    service and through the hand-written transaction, alternately."""
    store = SqlStore(url, exclusive=False)
    dialect = store.dialect
    try:  # the workspace's segments, and their members as a full rebuild leaves them
        with store.transaction():
            for segment, raw in SEGMENTS.items():
                store.put_config("segment", segment, raw)
            store.conn.execute(sa.text("DELETE FROM segment_members"))
            ids = store.account_ids()
            for segment, raw in SEGMENTS.items():
                store.fill_segment(segment, parse_condition(raw), NOW, ids)
    finally:
        store.close()
    stride = max(1, len(ids) // steps)
    chosen = [int(i[1:]) for i in ids[::stride][:steps]]
    service = Service(url, ManualClock(NOW))
    hand_engine = create_engine(url)
    itinera: list[float] = []
    hand: list[float] = []
    cpu = {"itinera": 0.0, "hand": 0.0}
    try:
        for n in chosen:
            account, person = f"a{n}", f"p{5 * n}"
            event = {"id": f"bench-i-{n}-{time.time_ns()}", "type": "webinar.attended",
                     "person": person, "at": NOW.isoformat()}
            service.submit([{"event": event}])
            spent, began = _cpu(), time.perf_counter()
            applied = service.work()
            itinera.append(time.perf_counter() - began)
            cpu["itinera"] += _cpu() - spent
            if applied != 1:
                raise SystemExit(f"the worker applied {applied} inputs, not 1")
            event = {**event, "id": f"bench-h-{n}-{time.time_ns()}", "at": NOW}
            spent, began = _cpu(), time.perf_counter()
            with hand_engine.begin() as connection:
                _hand_step(connection, dialect, event, account)
            hand.append(time.perf_counter() - began)
            cpu["hand"] += _cpu() - spent
    finally:
        service.close()
        # The world as generated again: without the steps' events (and the segment changes
        # they caused), the inputs they left in the journal and the timers they set.
        with hand_engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM events WHERE id LIKE 'bench-%' "
                                       "OR type IN ('segment.entered', 'segment.exited')"))
            for table in ("journal", "inbox", "timers"):
                connection.execute(sa.text(f"DELETE FROM {table}"))
        hand_engine.dispose()

    def text(values: list[float], side: str) -> str:
        spent = (f", {1000 * cpu[side] / len(values):.1f} ms CPU here on average"
                 if dialect == "sqlite" else "")
        return (f"median **{1000 * percentile(values, 50):.1f} ms**, "
                f"p90 {1000 * percentile(values, 90):.1f} ms{spent}")

    ratio = percentile(itinera, 50) / percentile(hand, 50)
    line = (f"- One account's step after one event ({len(chosen)} accounts): Itinera "
            f"{text(itinera, 'itinera')}; hand-written {text(hand, 'hand')}; **{ratio:.2f}×**")
    print(line, flush=True)
    return [line]


# -- worlds and the report ---------------------------------------------------------------------
def _world_url(backend: str, accounts: int, args: argparse.Namespace) -> str:
    if backend == "sqlite":
        args.data.mkdir(parents=True, exist_ok=True)
        path = args.data / f"segments-{accounts}.db"
        if args.fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    schema = f"{args.schema_prefix}_{accounts}"
    admin = sa.create_engine(args.postgres)
    with admin.begin() as connection:
        if args.fresh:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    admin.dispose()
    separator = "&" if "?" in args.postgres else "?"
    return f"{args.postgres}{separator}options=-csearch_path%3D{schema}"


def _world(url: str, accounts: int) -> None:
    """The world at ``url``: built now when not there, else as kept (migrated by the store)."""
    SqlStore(url, exclusive=False).close()  # the schema, brought to the latest migration
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = is_built(connection)
            if found == 0:
                began = time.perf_counter()
                build(connection, accounts)
                print(f"  built in {time.perf_counter() - began:.0f} s", flush=True)
            elif found != accounts:
                raise SystemExit(f"{url} holds {found} accounts, not {accounts} (--fresh)")
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[100_000])
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--data", type=Path,
                        default=Path(os.environ.get("TMPDIR", "/tmp")) / "itinera-segments")
    parser.add_argument("--postgres", default=POSTGRES_URL)
    parser.add_argument("--schema-prefix", default="bench_segments")
    parser.add_argument("--fresh", action="store_true", help="rebuild the kept worlds")
    parser.add_argument("--phases", nargs="+", choices=["rebuild", "step"],
                        default=["rebuild", "step"])
    parser.add_argument("--write", action="store_true", help="record in docs/performance.md")
    args = parser.parse_args()
    backends = [args.only] if args.only else ["sqlite", "postgresql"]
    for backend in backends:
        for accounts in args.accounts:
            print(f"{backend}, {accounts:,} accounts", flush=True)
            url = _world_url(backend, accounts, args)
            _world(url, accounts)
            lines = ((full_rebuild(url, args.repeat) if "rebuild" in args.phases else [])
                     + (account_steps(url, args.steps) if "step" in args.phases else []))
            command = " ".join(["bench/segments.py", *sys.argv[1:]])
            block = "\n".join([
                f"### {accounts:,} accounts, {5 * accounts:,} people, {10 * accounts:,} events "
                f"({backend})", "", f"`.venv/bin/python {command}`", "",
                "Full rebuild of each segment (fastest of the runs), then one account's step:",
                "", *lines, "",
                machine(args.postgres if backend == "postgresql" else None)])
            if args.write:
                record(f"segments-{backend}-{accounts}", block)


if __name__ == "__main__":
    main()
