"""Benchmark: journey transitions per second in the live service, beside a hand-written baseline.

    .venv/bin/python bench/runtime_transitions.py                  # SQLite, then PostgreSQL
    .venv/bin/python bench/runtime_transitions.py --only sqlite --accounts 2000 --steps 5

A transition is one enrollment moving from one wait to the next: its timer fires, the path
resumes, an email node records its effect in the outbox, and the path parks at the next wait
(one enrollment update, history, one outbox row, one timer). The journey is ``steps`` of them
(``wait 1m → email``), ``accounts`` accounts go through it.

Itinera: the live ``Service`` (exactly what ``itinera serve``'s worker calls), its clock set
past every wait so the timers are a backlog, worked in rounds of ``--batch`` timers — one
transaction each — until none is left. The accounts enroll first, through the inbox (timed
apart). Baseline: SQLAlchemy Core on tables of the same kind (instances, history, outbox,
timers), per transition an instance update, a history insert, an outbox insert and a timer
upsert, ``--batch`` transitions per transaction with one executemany per statement, due timers
read (with their instance) at the start of each. SQLite: both in this process, each on its own
file database in WAL mode with the store's settings. PostgreSQL: ``--workers`` processes each
(``Service(shared=True)``; the baseline claims due timers ``FOR UPDATE SKIP LOCKED``), each
side in a schema of its own. Each side runs ``--repeat`` times, alternately, and the fastest
run counts (the machine is shared: the slower runs measure the others). ``--write`` records the
figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _common import POSTGRES_URL, machine, postgres_schema, record  # bench/ is on the path
from sqlalchemy.dialects import postgresql, sqlite

from itinera.runtime import ManualClock, Service
from itinera.storage import schema as t
from itinera.storage.engine import create_engine

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
WAIT = timedelta(minutes=1)


# -- Itinera ------------------------------------------------------------------------------------
def journey(steps: int) -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    for i in range(steps):
        nodes[f"wait{i}"] = {"wait": "1m", "next": f"email{i}"}
        nodes[f"email{i}"] = {"do": [{"send_email": {"template": "nudge"}}]}
        if i + 1 < steps:
            nodes[f"email{i}"]["next"] = f"wait{i + 1}"
    return {"id": "drip", "entry": {"segments": ["all"]}, "start": "wait0", "nodes": nodes}


def enroll(service: Service, accounts: int, steps: int, batch: int) -> float:
    """Submit the workspace, the journey and the accounts, and work the inbox empty; the
    seconds the work took."""
    service.submit([
        {"configure": {"segments": [{"id": "all", "when": {"account.tier": "gold"}}],
                       "templates": [{"id": "nudge", "subject": "Hi {{ account.name }}"}]}},
        {"publish": journey(steps)}, {"enable": "drip"}])
    for start in range(0, accounts, 1000):
        inputs: list[dict[str, Any]] = []
        for n in range(start, min(accounts, start + 1000)):
            inputs.append({"upsert_person": {"id": f"p{n:06d}", "account": f"a{n:06d}",
                                             "email": f"p{n}@a{n}.test"}})
            inputs.append({"upsert_account": {"id": f"a{n:06d}",
                                              "attributes": {"name": f"A{n}", "tier": "gold"}}})
        service.submit(inputs)
    began = time.perf_counter()
    while True:  # (a shared worker's round ends early at a workspace-wide input)
        done = service.work_round(batch)
        if not (done.inputs or done.timers or done.more):
            return time.perf_counter() - began


def transitions(service: Service, batch: int) -> tuple[int, float]:
    """Work the backlog of timers in rounds of ``batch``; (timers fired, seconds)."""
    fired = 0
    began = time.perf_counter()
    while True:
        done = service.work_round(batch)
        fired += done.timers
        if not done.more:
            return fired, time.perf_counter() - began


def counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            found = {table.name: int(connection.execute(
                sa.select(sa.func.count()).select_from(table)).scalar_one())
                for table in (t.history, t.effects, t.timers)}
            found["completed"] = int(connection.execute(
                sa.select(sa.func.count()).select_from(t.enrollments)
                .where(t.enrollments.c.status == "completed")).scalar_one())
    finally:
        engine.dispose()
    return found


# -- the baseline ------------------------------------------------------------------------------
_meta = sa.MetaData()
_Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_Instant = sa.DateTime(timezone=True)
instances = sa.Table("instances", _meta,
                     sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                     sa.Column("account", sa.String, nullable=False),
                     sa.Column("node", sa.String, nullable=False),
                     sa.Column("status", sa.String, nullable=False),
                     sa.Column("state", _Json, nullable=False),
                     sa.Column("updated_at", _Instant, nullable=False))
history = sa.Table("history", _meta,
                   sa.Column("id", sa.Integer, primary_key=True),
                   sa.Column("instance", sa.Integer, nullable=False, index=True),
                   sa.Column("at", _Instant, nullable=False),
                   sa.Column("node", sa.String),
                   sa.Column("entry", _Json, nullable=False))
outbox = sa.Table("outbox", _meta,
                  sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("key", sa.String, nullable=False, unique=True),
                  sa.Column("channel", sa.String, nullable=False),
                  sa.Column("status", sa.String, nullable=False),
                  sa.Column("account", sa.String),
                  sa.Column("at", _Instant, nullable=False),
                  sa.Column("payload", _Json, nullable=False),
                  sa.Index("ix_outbox_status_at", "status", "at"))
timers = sa.Table("timers", _meta,
                  sa.Column("instance", sa.Integer, primary_key=True, autoincrement=False),
                  sa.Column("due_at", _Instant, nullable=False),
                  sa.Column("node", sa.String, nullable=False),
                  sa.Index("ix_timers_due", "due_at", "instance"))


def baseline_setup(url: str, accounts: int) -> None:
    engine = create_engine(url)
    try:
        _meta.create_all(engine)
        with engine.begin() as connection:
            connection.execute(instances.insert(), [
                {"id": n, "account": f"a{n:06d}", "node": "wait0", "status": "active",
                 "state": {"step": 0, "tokens": [{"node": "wait0"}]}, "updated_at": T0}
                for n in range(accounts)])
            connection.execute(timers.insert(), [
                {"instance": n, "due_at": T0 + WAIT, "node": "wait0"} for n in range(accounts)])
    finally:
        engine.dispose()


def baseline_run(url: str, steps: int, batch: int, ready: Callable[[], None] = lambda: None,
                 ) -> tuple[int, float]:
    """Transitions until no timer is left; (transitions, seconds)."""
    engine = create_engine(url)
    dialect_insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    upsert = dialect_insert(timers)
    upsert_timer = upsert.on_conflict_do_update(
        index_elements=["instance"], set_={"due_at": upsert.excluded.due_at,
                                           "node": upsert.excluded.node})
    update_instance = instances.update().where(instances.c.id == sa.bindparam("k_id")).values(
        node=sa.bindparam("node"), status=sa.bindparam("status"), state=sa.bindparam("state"),
        updated_at=sa.bindparam("updated_at"))
    delete_timer = timers.delete().where(timers.c.instance == sa.bindparam("k_instance"))
    due = (sa.select(timers.c.instance, timers.c.due_at, timers.c.node, instances.c.account,
                     instances.c.state)
           .join(instances, instances.c.id == timers.c.instance)
           .where(timers.c.due_at <= T0 + WAIT * (steps + 1))
           .order_by(timers.c.due_at, timers.c.instance).limit(batch))
    if engine.dialect.name == "postgresql":
        # Both rows locked: a row another worker has just moved is then read as it is now
        # (PostgreSQL re-reads locked rows), not as this statement's snapshot had it.
        due = due.with_for_update(skip_locked=True, of=[timers, instances])
    done = 0
    try:
        with engine.connect() as connection:
            ready()
            began = time.perf_counter()
            while True:
                with connection.begin():
                    rows = connection.execute(due).all()
                    if not rows:
                        break
                    moves, entries, effects, next_timers, ended = [], [], [], [], []
                    for row in rows:
                        step = int(row.node.removeprefix("wait"))
                        assert row.state["step"] == step, (row.state, row.node)
                        at = row.due_at
                        last = step + 1 == steps
                        node = f"wait{step + 1}" if not last else None
                        moves.append({"k_id": row.instance, "node": node or "-",
                                      "status": "completed" if last else "active",
                                      "state": {"step": step + 1,
                                                "tokens": [] if last else [{"node": node}]},
                                      "updated_at": at})
                        entries.append({"instance": row.instance, "at": at, "node": f"email{step}",
                                        "entry": {"decision": "actions",
                                                  "actions": [{"action": "send_email"}]}})
                        effects.append({"key": f"{row.instance}:{step}", "channel": "email",
                                        "status": "pending", "account": row.account, "at": at,
                                        "payload": {"template": "nudge",
                                                    "to": f"{row.account}@example.test"}})
                        if last:
                            ended.append({"k_instance": row.instance})
                        else:
                            next_timers.append({"instance": row.instance, "due_at": at + WAIT,
                                                "node": node})
                    connection.execute(update_instance, moves)
                    connection.execute(history.insert(), entries)
                    connection.execute(outbox.insert(), effects)
                    if next_timers:
                        connection.execute(upsert_timer, next_timers)
                    if ended:
                        connection.execute(delete_timer, ended)
                    done += len(rows)
            return done, time.perf_counter() - began
    finally:
        engine.dispose()


# -- several processes (PostgreSQL) -------------------------------------------------------------
def _worker(role: str, url: str, steps: int, batch: int) -> None:
    """A worker process: says ``ready``, waits for a line on stdin, works until no timer is
    left, prints ``<transitions> <seconds>``."""
    def ready() -> None:
        print("ready", flush=True)
        sys.stdin.readline()

    if role == "baseline":
        done, seconds = baseline_run(url, steps, batch, ready)
    else:
        service = Service(url, ManualClock(T0 + WAIT * (steps + 1)), shared=True)
        try:
            ready()
            done, began = 0, time.perf_counter()
            while True:
                work = service.work_round(batch)
                done += work.timers
                if work.timers or work.more:
                    continue
                with service.store.transaction():
                    if service.store.next_due() is None:
                        break
                time.sleep(0.002)  # the accounts due now are others': wait for their commit
            seconds = time.perf_counter() - began
        finally:
            service.close()
    print(done, seconds, flush=True)


def in_processes(role: str, url: str, workers: int, steps: int, batch: int) -> tuple[int, float]:
    """Run ``workers`` worker processes together; (transitions, wall seconds)."""
    command = [sys.executable, __file__, "--role", role, "--url", url, "--steps", str(steps),
               "--batch", str(batch)]
    processes = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True) for _ in range(workers)]
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        began = time.perf_counter()
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = [process.communicate(timeout=600)[0] for process in processes]
        seconds = time.perf_counter() - began
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    if any(process.returncode for process in processes):
        raise SystemExit(f"a {role} worker failed")
    done = [int(out.split()[0]) for out in outputs]
    print(f"  {role} workers' transitions: {done}")
    return sum(done), seconds


# -- reporting ---------------------------------------------------------------------------------
def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s"


@dataclass
class Timing:
    """The best (fastest) of the repeated runs of one side: wall and CPU seconds."""

    done: int = 0
    seconds: float = float("inf")
    cpu: float = 0.0
    runs: list[float] = field(default_factory=list)

    def add(self, done: int, seconds: float, cpu: float) -> None:
        self.runs.append(seconds)
        if seconds < self.seconds:
            self.done, self.seconds, self.cpu = done, seconds, cpu

    def line(self, name: str) -> str:
        others = ", ".join(f"{x:.1f}" for x in self.runs)
        return (f"- {name}: {self.done:,} transitions in {self.seconds:.1f} s = "
                f"**{_rate(self.done, self.seconds)}**, {1e6 * self.cpu / self.done:.0f} µs of CPU "
                f"each (runs: {others} s)")


def _cpu(children: bool = False) -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_sqlite(accounts: int, steps: int, batch: int, repeat: int) -> list[str]:
    expected = accounts * steps
    itinera, baseline = Timing(), Timing()
    for _ in range(repeat):  # alternately, so that both see the same moments of a busy machine
        with tempfile.TemporaryDirectory(prefix="itinera-bench-") as name:
            directory = Path(name)
            base_url = f"sqlite:///{directory}/baseline.db"
            baseline_setup(base_url, accounts)
            cpu = _cpu()
            done, seconds = baseline_run(base_url, steps, batch)
            baseline.add(done, seconds, _cpu() - cpu)
            assert done == expected, (done, expected)

            url = f"sqlite:///{directory}/itinera.db"
            clock = ManualClock(T0)
            service = Service(url, clock)
            try:
                enroll_seconds = enroll(service, accounts, steps, batch)
                clock.set(T0 + WAIT * (steps + 1))
                cpu = _cpu()
                fired, seconds = transitions(service, batch)
                itinera.add(fired, seconds, _cpu() - cpu)
            finally:
                service.close()
            found = counts(url)
            assert fired == expected and found["effects"] == expected, (fired, found)
            assert found["completed"] == accounts and found["timers"] == 0, found
    return [
        f"SQLite, one process, {accounts:,} accounts × {steps} transitions, "
        f"{batch} per transaction, best of {repeat}:",
        "",
        itinera.line("Itinera") + f"; {found['history']:,} history rows",
        baseline.line("baseline"),
        f"- **Itinera / baseline: {_ratio(itinera, baseline)}** (target ≥ 50%); in CPU time "
        f"{baseline.cpu / baseline.done / (itinera.cpu / itinera.done):.0%}",
        f"- enrolling the {accounts:,} accounts ({2 * accounts:,} inputs through the inbox, "
        f"each enrollment's first step): {enroll_seconds:.1f} s = "
        f"{_rate(2 * accounts, enroll_seconds)} inputs",
    ]


def _ratio(itinera: Timing, baseline: Timing) -> str:
    return f"{(itinera.done / itinera.seconds) / (baseline.done / baseline.seconds):.0%}"


def analyze(url: str) -> None:
    """Statistics for the planner, as autovacuum keeps them for tables in use: the tables were
    filled a moment ago (both sides alike)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))
    finally:
        engine.dispose()


def run_postgres(accounts: int, steps: int, batch: int, workers: int, repeat: int) -> list[str]:
    expected = accounts * steps
    itinera, baseline = Timing(), Timing()
    for _ in range(repeat):
        with postgres_schema(POSTGRES_URL, "bench_base") as base_url:
            baseline_setup(base_url, accounts)
            analyze(base_url)
            cpu = _cpu(children=True)
            done, seconds = in_processes("baseline", base_url, workers, steps, batch)
            baseline.add(done, seconds, _cpu(children=True) - cpu)
        assert done == expected, (done, expected)
        with postgres_schema(POSTGRES_URL, "bench_itinera") as url:
            service = Service(url, ManualClock(T0), shared=True)
            try:
                enroll_seconds = enroll(service, accounts, steps, batch)
            finally:
                service.close()
            analyze(url)
            cpu = _cpu(children=True)
            fired, seconds = in_processes("itinera", url, workers, steps, batch)
            itinera.add(fired, seconds, _cpu(children=True) - cpu)
            found = counts(url)
        assert fired == expected and found["effects"] == expected, (fired, found)
        assert found["completed"] == accounts and found["timers"] == 0, found
    return [
        f"PostgreSQL, {workers} worker processes each side, {accounts:,} accounts × {steps} "
        f"transitions, {batch} per transaction, best of {repeat} (CPU: the workers', not the "
        "server's):",
        "",
        itinera.line("Itinera") + f"; {found['history']:,} history rows",
        baseline.line("baseline"),
        f"- **Itinera / baseline: {_ratio(itinera, baseline)}**",
        f"- enrolling the {accounts:,} accounts (one process): {enroll_seconds:.1f} s = "
        f"{_rate(2 * accounts, enroll_seconds)} inputs",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=10, help="transitions per enrollment")
    parser.add_argument("--batch", type=int, default=100, help="transitions per transaction")
    parser.add_argument("--workers", type=int, default=4, help="processes on PostgreSQL")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side (the best counts)")
    parser.add_argument("--write", action="store_true", help="record in docs/performance.md")
    parser.add_argument("--role", choices=["itinera", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role is not None:
        _worker(args.role, args.url, args.steps, args.batch)
        return
    lines: list[str] = []
    if args.only != "postgresql":
        lines += run_sqlite(args.accounts, args.steps, args.batch, args.repeat)
        print("\n".join(lines), flush=True)
    if args.only != "sqlite":
        if lines:
            lines.append("")
        lines += run_postgres(args.accounts, args.steps, args.batch, args.workers, args.repeat)
        print("\n".join(lines[-6:]), flush=True)
    block = "\n".join([
        "### Transitions per second — `bench/runtime_transitions.py`", "",
        f"    .venv/bin/python bench/runtime_transitions.py --accounts {args.accounts} "
        f"--steps {args.steps} --batch {args.batch} --workers {args.workers} --repeat {args.repeat}"
        + (f" --only {args.only}" if args.only else ""), "",
        machine(None if args.only == "sqlite" else POSTGRES_URL), "", *lines])
    if args.write:
        record("runtime_transitions", block)


if __name__ == "__main__":
    main()
