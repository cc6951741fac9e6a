"""Benchmark: enrollments per second through a running ``itinera serve``, beside a hand-written
reference doing the same work in SQL, in the same run.

    .venv/bin/python bench/enrollments.py                      # SQLite file and PostgreSQL
    .venv/bin/python bench/enrollments.py --database sqlite --accounts 5000 --write

``itinera serve --sandbox`` (API, worker; effects recorded, nothing delivered) runs as a
subprocess on a fresh database, with a small journey (issue 11): accounts enter the segment
``trial`` (``account.plan = trial``); the journey sends a welcome email, waits ``--wait``
seconds of real time, splits on the account's size and sends one of two emails, and ends.
This process posts ``--accounts`` accounts (each with one person) to ``/api/inputs`` in
requests of ``--batch``, ``--concurrency`` at a time, as fast as they are answered. A reader
polls the database every 20 ms and notes when every account has its welcome email recorded
(enrolled, first effect in the outbox) and when every journey has ended.

The hand-written reference, on a fresh database of the same backend in the same run, does what
a minimal system hand-written for this one journey would commit, in transactions of
``--batch`` accounts: upsert the account and its person, test the segment's condition, insert
the membership, the enrollment, the welcome email (its text formatted in Python) and a timer;
then a loop takes the due timers, splits, inserts the second email, ends the enrollment and
deletes the timer. It has no HTTP, no inbox, no journal, no decision trace — what Itinera does
on top of it is in the ratio. ``--write`` records the figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from _common import POSTGRES_URL, machine, postgres_schema, process_cpu, record
from latency import free_port, start_server, stop_server

from itinera.storage.engine import create_engine

WORKSPACE: dict[str, Any] = {
    "segments": [{"id": "trial", "when": {"account.plan": "trial"}}],
    "templates": [{"id": t, "subject": f"{t} {{{{ account.name }}}}",
                   "text": f"Hello {{{{ person.first_name }}}}, {t} for {{{{ account.name }}}}."}
                  for t in ("welcome", "big", "small")],
}


def journey(wait: float) -> dict[str, Any]:
    return {"id": "trial", "entry": {"segments": ["trial"]}, "start": "welcome",
            "nodes": {"welcome": {"do": [{"send_email": {"template": "welcome"}}], "next": "pause"},
                      "pause": {"wait": f"{wait:g}s", "next": "size"},
                      "size": {"split": [{"when": {"account.size": "Large"}, "next": "big"},
                                         {"else": "small"}]},
                      "big": {"do": [{"send_email": {"template": "big"}}]},
                      "small": {"do": [{"send_email": {"template": "small"}}]}}}


def _inputs(start: int, end: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n in range(start, end):
        rows.append({"upsert_person": {"id": f"p{n}", "account": f"a{n:06d}",
                                       "email": f"p{n}@example.test",
                                       "attributes": {"first_name": f"P{n}"}}})
        rows.append({"upsert_account": {"id": f"a{n:06d}", "attributes": {
            "name": f"Account {n}", "plan": "trial", "size": "Large" if n % 3 == 0 else "Small"}}})
    return rows


@dataclass
class Figures:
    posted: float = 0.0  # seconds until every request was answered
    enrolled: float = 0.0  # until every account's welcome email was recorded
    ended: float = 0.0  # until every enrollment had ended (the wait included)
    cpu: float = 0.0  # CPU seconds of the side's own processes until everything ended


def _watch(database: str, accounts: int, began: float, figures: Figures,
           stop: threading.Event, timeout: float) -> None:
    """Poll the store: when every welcome email is recorded, and every enrollment ended."""
    engine = sa.create_engine(database)
    welcome = sa.text("SELECT count(*) FROM effects WHERE node = 'welcome'")
    ended = sa.text("SELECT count(*) FROM enrollments WHERE status <> 'active'")
    try:
        with engine.connect() as connection:
            while not stop.is_set() and time.monotonic() - began < timeout:
                if not figures.enrolled and connection.execute(welcome).scalar() == accounts:
                    figures.enrolled = time.monotonic() - began
                if figures.enrolled and connection.execute(ended).scalar() == accounts:
                    figures.ended = time.monotonic() - began
                    return
                connection.rollback()
                time.sleep(0.02)
    finally:
        engine.dispose()


async def _post_all(base: str, key: str, args: argparse.Namespace) -> list[str]:
    failures: list[str] = []
    queue = list(range(0, args.accounts, args.batch))
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"},
                                 timeout=120) as client:
        async def sender() -> None:
            while queue:
                start = queue.pop(0)
                body = _inputs(start, min(args.accounts, start + args.batch))
                answer = await client.post("/api/inputs", json=body)
                if answer.status_code != 202:
                    failures.append(f"{answer.status_code} {answer.text[:200]}")
        await asyncio.gather(*(sender() for _ in range(args.concurrency)))
    return failures


def itinera_run(database: str, args: argparse.Namespace, log: Path) -> Figures:
    port = free_port()
    process, key = start_server(database, port, log, ["--sandbox"])
    figures = Figures()
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                          timeout=120) as api:
            api.post("/api/inputs?wait=true", json=[
                {"configure": WORKSPACE}, {"publish": journey(args.wait)},
                {"enable": "trial"}]).raise_for_status()
        stop = threading.Event()
        cpu, began = process_cpu(process.pid), time.monotonic()
        watcher = threading.Thread(target=_watch, args=(database, args.accounts, began, figures,
                                                         stop, args.timeout))
        watcher.start()
        try:
            failures = asyncio.run(_post_all(base, key, args))
            figures.posted = time.monotonic() - began
            watcher.join()
        finally:
            stop.set()
            watcher.join()
        figures.cpu = process_cpu(process.pid) - cpu
        for failure in failures[:5]:
            print(f"POST /api/inputs: {failure}", file=sys.stderr)
        if failures or not figures.ended:
            raise SystemExit(f"{len(failures)} failed requests; ended: {figures.ended or 'no'}")
    finally:
        stop_server(process, log)
    return figures


# -- the hand-written reference ------------------------------------------------------------------
_REFERENCE_SCHEMA = [
    "CREATE TABLE accounts (id VARCHAR PRIMARY KEY, attributes {json} NOT NULL)",
    "CREATE TABLE people (id VARCHAR PRIMARY KEY, account VARCHAR, email VARCHAR, "
    "attributes {json} NOT NULL)",
    "CREATE INDEX ix_people_account ON people (account)",
    "CREATE TABLE segment_members (segment VARCHAR, account VARCHAR, "
    "PRIMARY KEY (segment, account))",
    "CREATE TABLE enrollments (id {serial} PRIMARY KEY, journey VARCHAR NOT NULL, "
    "account VARCHAR NOT NULL, node VARCHAR NOT NULL, status VARCHAR NOT NULL, "
    "enrolled_at {instant} NOT NULL, ended_at {instant})",
    "CREATE INDEX ix_enrollments_account ON enrollments (account)",
    "CREATE TABLE effects (id {serial} PRIMARY KEY, key VARCHAR UNIQUE NOT NULL, "
    "enrollment INTEGER NOT NULL, node VARCHAR NOT NULL, person VARCHAR NOT NULL, "
    "at {instant} NOT NULL, payload {json} NOT NULL)",
    "CREATE TABLE timers (id {serial} PRIMARY KEY, due_at {instant} NOT NULL, "
    "enrollment INTEGER NOT NULL)",
    "CREATE INDEX ix_timers_due ON timers (due_at)",
]


def _reference_schema(connection: sa.Connection) -> None:
    pg = connection.dialect.name == "postgresql"
    words = {"json": "JSONB" if pg else "TEXT",
             "serial": "BIGSERIAL" if pg else "INTEGER",
             "instant": "TIMESTAMPTZ" if pg else "TEXT"}
    for statement in _REFERENCE_SCHEMA:
        connection.execute(sa.text(statement.format(**words)))


def _email(template: str, account: dict[str, Any], person: dict[str, Any]) -> dict[str, Any]:
    return {"to": person["email"], "subject": f"{template} {account['name']}",
            "body": f"Hello {person['first_name']}, {template} for {account['name']}."}


def _reference_batch(connection: sa.Connection, start: int, end: int, wait: float) -> None:
    """One request's accounts, as a hand-written system would commit them."""
    now = datetime.now(UTC)
    inputs = _inputs(start, end)
    people = [i["upsert_person"] for i in inputs[::2]]
    accounts = [i["upsert_account"] for i in inputs[1::2]]
    pg = connection.dialect.name == "postgresql"
    connection.execute(sa.text(
        "INSERT INTO people (id, account, email, attributes) VALUES (:id, :account, :email, "
        ":attributes) ON CONFLICT (id) DO UPDATE SET account = excluded.account, "
        "email = excluded.email, attributes = excluded.attributes"),
        [{"id": p["id"], "account": p["account"], "email": p["email"],
          "attributes": json.dumps(p["attributes"])} for p in people])
    connection.execute(sa.text(
        "INSERT INTO accounts (id, attributes) VALUES (:id, :attributes) ON CONFLICT (id) "
        "DO UPDATE SET attributes = excluded.attributes"),
        [{"id": a["id"], "attributes": json.dumps(a["attributes"])} for a in accounts])
    # The segment's condition on the stored rows; those entering it, enrolled.
    attribute = "attributes ->> 'plan'" if pg else "json_extract(attributes, '$.plan')"
    ids = [a["id"] for a in accounts]
    entering = connection.execute(sa.text(
        f"SELECT id FROM accounts WHERE id IN :ids AND {attribute} = 'trial' AND id NOT IN "
        "(SELECT account FROM segment_members WHERE segment = 'trial')").bindparams(
        sa.bindparam("ids", expanding=True)), {"ids": ids}).scalars().all()
    if not entering:
        return
    connection.execute(sa.text("INSERT INTO segment_members (segment, account) "
                               "VALUES ('trial', :a)"), [{"a": a} for a in entering])
    stamp = now if pg else now.isoformat()
    due = now + timedelta(seconds=wait)
    by_id = {a["id"]: a for a in accounts}
    person_of = {p["account"]: p for p in people}
    for account in entering:
        enrollment = connection.execute(sa.text(
            "INSERT INTO enrollments (journey, account, node, status, enrolled_at) VALUES "
            "('trial', :a, 'pause', 'active', :at) RETURNING id"),
            {"a": account, "at": stamp}).scalar_one()
        person = person_of[account]
        connection.execute(sa.text(
            "INSERT INTO effects (key, enrollment, node, person, at, payload) VALUES "
            "(:key, :e, 'welcome', :p, :at, :payload)"),
            {"key": f"{enrollment}:welcome", "e": enrollment, "p": person["id"], "at": stamp,
             "payload": json.dumps(_email("welcome", by_id[account]["attributes"],
                                          {**person["attributes"], "email": person["email"]}))})
        connection.execute(sa.text("INSERT INTO timers (due_at, enrollment) VALUES (:d, :e)"),
                           {"d": due if pg else due.isoformat(), "e": enrollment})


def _reference_timers(connection: sa.Connection) -> int:
    """Fire the due timers (up to 500): split, second email, end. How many fired."""
    pg = connection.dialect.name == "postgresql"
    now = datetime.now(UTC)
    stamp = now if pg else now.isoformat()
    size = "a.attributes ->> 'size'" if pg else "json_extract(a.attributes, '$.size')"
    rows = connection.execute(sa.text(
        f"SELECT t.id, e.id AS enrollment, a.attributes AS account, p.id AS person, p.email, "
        f"p.attributes AS person_attributes, {size} AS size FROM timers t "
        "JOIN enrollments e ON e.id = t.enrollment JOIN accounts a ON a.id = e.account "
        "JOIN people p ON p.account = a.id WHERE t.due_at <= :now ORDER BY t.due_at LIMIT 500"),
        {"now": stamp}).all()
    if not rows:
        return 0

    def loaded(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else json.loads(value)

    effects = []
    for row in rows:
        template = "big" if row.size == "Large" else "small"
        effects.append({"key": f"{row.enrollment}:{template}", "e": row.enrollment,
                        "node": template, "p": row.person, "at": stamp,
                        "payload": json.dumps(_email(template, loaded(row.account), {
                            **loaded(row.person_attributes), "email": row.email}))})
    connection.execute(sa.text(
        "INSERT INTO effects (key, enrollment, node, person, at, payload) VALUES "
        "(:key, :e, :node, :p, :at, :payload)"), effects)
    connection.execute(sa.text("UPDATE enrollments SET status = 'completed', node = 'end', "
                               "ended_at = :at WHERE id = :e"),
                       [{"at": stamp, "e": row.enrollment} for row in rows])
    connection.execute(sa.text("DELETE FROM timers WHERE id = :id"), [{"id": r.id} for r in rows])
    return len(rows)


def reference_run(database: str, args: argparse.Namespace) -> Figures:
    """The hand-written system: ``--concurrency`` threads committing batches (the requests),
    one thread firing timers (the worker), on the backend's own engine."""
    engine = create_engine(database)
    with engine.begin() as connection:
        _reference_schema(connection)
    figures = Figures()
    queue = list(range(0, args.accounts, args.batch))
    lock = threading.Lock()
    cpu, began = time.process_time(), time.monotonic()

    def sender() -> None:
        while True:
            with lock:
                if not queue:
                    return
                start = queue.pop(0)
            with engine.begin() as connection:
                _reference_batch(connection, start, min(args.accounts, start + args.batch),
                                 args.wait)

    def firer(stop: threading.Event) -> None:
        while not stop.is_set():
            with engine.begin() as connection:
                fired = _reference_timers(connection)
            if not fired:
                time.sleep(0.01)

    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(database, args.accounts, began, figures,
                                                    stop, args.timeout))
    fire = threading.Thread(target=firer, args=(stop,))
    senders = [threading.Thread(target=sender) for _ in range(args.concurrency)]
    watcher.start()
    fire.start()
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    figures.posted = time.monotonic() - began
    watcher.join()
    stop.set()
    fire.join()
    figures.cpu = time.process_time() - cpu  # this process: all of the reference's threads
    engine.dispose()
    if not figures.ended:
        raise SystemExit("the reference did not end every enrollment")
    return figures


def _lines(backend: str, itinera: Figures, hand: Figures, args: argparse.Namespace) -> list[str]:
    n = args.accounts

    def rate(seconds: float) -> str:
        return f"{n / seconds:,.0f}/s"

    return [
        f"{backend}: {n:,} accounts entering the segment, {args.batch} per request, "
        f"{args.concurrency} requests at a time; a {args.wait:g} s wait in the journey:",
        "",
        f"- Itinera: every account enrolled with its welcome email recorded after "
        f"**{itinera.enrolled:.1f} s = {rate(itinera.enrolled)}** (requests all answered after "
        f"{itinera.posted:.1f} s); every journey ended after {itinera.ended:.1f} s; "
        f"{1000 * itinera.cpu / n:.2f} ms of the server's CPU per account",
        f"- hand-written: enrolled after **{hand.enrolled:.1f} s = {rate(hand.enrolled)}**; "
        f"ended after {hand.ended:.1f} s; {1000 * hand.cpu / n:.2f} ms of CPU per account "
        f"(its process)",
        f"- **Itinera / hand-written: {hand.enrolled / itinera.enrolled:.0%}** of the "
        f"enrollment rate; {itinera.cpu / hand.cpu:.1f}× the CPU per account",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], nargs="+",
                        default=["sqlite", "postgresql"])
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=50, help="accounts per request")
    parser.add_argument("--concurrency", type=int, default=4, help="requests at a time")
    parser.add_argument("--wait", type=float, default=2.0, help="the journey's wait, seconds")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--write", action="store_true", help="record in docs/performance.md")
    args = parser.parse_args()
    for backend in args.database:
        with tempfile.TemporaryDirectory(prefix="itinera-enroll-") as directory:
            if backend == "sqlite":
                itinera = itinera_run(f"sqlite:///{directory}/itinera.db", args,
                                      Path(directory) / "serve.log")
                hand = reference_run(f"sqlite:///{directory}/hand.db", args)
                name = "SQLite file"
            else:
                with postgres_schema(POSTGRES_URL, "bench_enroll") as url:
                    itinera = itinera_run(url, args, Path(directory) / "serve.log")
                with postgres_schema(POSTGRES_URL, "bench_enroll_hand") as url:
                    hand = reference_run(url, args)
                name = "PostgreSQL"
        lines = _lines(name, itinera, hand, args)
        print("\n".join(lines), flush=True)
        if args.write:
            command = (f"    .venv/bin/python bench/enrollments.py --database {backend} "
                       f"--accounts {args.accounts} --batch {args.batch} "
                       f"--concurrency {args.concurrency} --wait {args.wait:g}")
            record(f"enrollments_{backend}", "\n".join([
                f"### Enrollments per second, {name} — `bench/enrollments.py`", "", command, "",
                machine(POSTGRES_URL if backend == "postgresql" else None), "", *lines]))


if __name__ == "__main__":
    main()
