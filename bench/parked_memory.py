"""Benchmark: a lone worker's memory and the disk used, per parked enrollment.

    .venv/bin/python bench/parked_memory.py --sizes 10000,1000000
    .venv/bin/python bench/parked_memory.py --database postgresql --sizes 10000,100000

For each size N, a fresh database gets N accounts (each with a person) enrolled in a journey
that parks them at a 30-day wait — through the live ``Service``, as ``itinera serve``'s worker
does. Then a new process opens the store as the only writer (``itinera serve``'s worker) and
works two rounds on a clock an hour later (nothing is due: it loads what it keeps in memory and
finds nothing to do), and reports its resident memory (VmRSS) and peak (VmHWM). The reference is
the same process on a database with the journey and no accounts. Growth per parked enrollment is
(RSS with N − RSS with none) / N; the target is under 100 bytes. Disk per parked enrollment is
the database's size (SQLite: the file after a checkpoint; PostgreSQL: every table with its
indexes) over N. ``--write`` records the figures in docs/performance.md. A measurement, never a
test.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _common import POSTGRES_URL, machine, postgres_schema, record

from itinera.runtime import ManualClock, Service

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)

MEASURE = """
import json, sys
from datetime import datetime, timedelta, UTC
from itinera.runtime import ManualClock, Service
service = Service(sys.argv[1], ManualClock(datetime.fromisoformat(sys.argv[2])))
for _ in range(2):
    service.work_round(500)
status = {}
for line in open("/proc/self/status"):
    name, _, value = line.partition(":")
    if name in ("VmRSS", "VmHWM"):
        status[name] = int(value.split()[0]) * 1024
service.close()
print(json.dumps(status))
"""


def build(url: str, accounts: int) -> float:
    """N accounts parked at the journey's 30-day wait; the seconds it took."""
    service = Service(url, ManualClock(T0))
    began = time.perf_counter()
    try:
        service.submit([
            {"configure": {"segments": [{"id": "gold", "when": {"account.tier": "gold"}}],
                           "templates": [{"id": "hi", "subject": "Hi {{ account.name }}"}]}},
            {"publish": {"id": "parked", "entry": {"segments": ["gold"]}, "start": "park",
                         "nodes": {"park": {"wait": "30d", "next": "hello"},
                                   "hello": {"do": [{"send_email": {"template": "hi"}}]}}}},
            {"enable": "parked"}])
        for start in range(0, accounts, 2000):
            inputs: list[dict[str, Any]] = []
            for n in range(start, min(accounts, start + 2000)):
                inputs.append({"upsert_person": {"id": f"p{n:07d}", "account": f"a{n:07d}",
                                                 "email": f"p{n}@a{n}.test"}})
                inputs.append({"upsert_account": {"id": f"a{n:07d}",
                                                  "attributes": {"name": f"A{n}", "tier": "gold"}}})
            service.submit(inputs)
            while True:
                done = service.work_round(1000)
                if not (done.inputs or done.timers or done.more):
                    break
    finally:
        service.close()
    return time.perf_counter() - began


def measure(url: str) -> dict[str, int]:
    later = (T0 + timedelta(hours=1)).isoformat()
    output = subprocess.run([sys.executable, "-c", MEASURE, url, later], capture_output=True,
                            text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    return dict(json.loads(output.stdout.strip().splitlines()[-1]))


def disk(url: str, file: Path | None) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            if file is not None:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                return int(connection.execute(sa.text(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind = 'r'")).scalar_one())
    finally:
        engine.dispose()
    assert file is not None
    return sum(p.stat().st_size for p in file.parent.glob(file.name + "*"))


def one(size: int, backend: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="itinera-parked-") as directory:
        if backend == "sqlite":
            file = Path(directory) / "itinera.db"
            return _one(f"sqlite:///{file}", size, file)
        with postgres_schema(POSTGRES_URL, "bench_parked") as url:
            return _one(url, size, None)


def _one(url: str, size: int, file: Path | None) -> dict[str, float]:
    seconds = build(url, size)
    found = measure(url)
    return {"size": size, "build": seconds, "rss": found["VmRSS"], "peak": found["VmHWM"],
            "disk": disk(url, file)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sizes", default="10000,1000000", help="parked enrollments, comma-separated")
    parser.add_argument("--write", action="store_true", help="record in docs/performance.md")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    reference = one(0, args.database)
    rows = [one(size, args.database) for size in sizes]
    mib = 2**20
    lines = ["| parked enrollments | worker RSS | peak | growth per parked enrollment | "
             "disk | disk per parked enrollment | set up in |", "|---" * 7 + "|",
             f"| none (reference) | {reference['rss'] / mib:.1f} MiB | "
             f"{reference['peak'] / mib:.1f} MiB | – | {reference['disk'] / mib:.1f} MiB | – | – |"]
    for row in rows:
        growth = (row["rss"] - reference["rss"]) / row["size"]
        per_disk = (row["disk"] - reference["disk"]) / row["size"]
        lines.append(f"| {row['size']:,} | {row['rss'] / mib:.1f} MiB | {row['peak'] / mib:.1f} MiB "
                     f"| {growth:.0f} bytes | {row['disk'] / mib:.1f} MiB | {per_disk:,.0f} bytes "
                     f"| {row['build']:.0f} s |")
    lines.append("")
    for before, after in itertools.pairwise(rows):
        lines.append(f"- from {before['size']:,} to {after['size']:,} parked enrollments the "
                     f"worker's RSS grows {(after['rss'] - before['rss']) / mib:+.1f} MiB: "
                     f"{(after['rss'] - before['rss']) / (after['size'] - before['size']):.0f} "
                     f"bytes per parked enrollment (target: under 100)")
    backend = "SQLite file" if args.database == "sqlite" else "PostgreSQL"
    lines = [f"{backend}: a lone worker (`Service`, as `itinera serve` runs it) opened on a "
             f"database of N parked enrollments, after two rounds with nothing due:", "", *lines]
    print("\n".join(lines))
    if args.write:
        command = (f"    .venv/bin/python bench/parked_memory.py --database {args.database} "
                   f"--sizes {args.sizes}")
        record(f"parked_{args.database}", "\n".join([
            f"### Memory and disk per parked enrollment, {backend} — `bench/parked_memory.py`", "",
            command, "", machine(POSTGRES_URL if args.database == "postgresql" else None), "",
            *lines]))


if __name__ == "__main__":
    main()
