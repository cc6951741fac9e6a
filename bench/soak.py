"""Soak benchmark: ``itinera serve`` as deployed, under a steady event rate for a long while.

    .venv/bin/python bench/soak.py --rate 200 --minutes 10            # SQLite file
    .venv/bin/python bench/soak.py --database postgresql --rate 100 --minutes 10

The set-up is ``bench/latency.py``'s (its server, journey, open-loop load and loopback webhook
receiver; each event causes one webhook). Every ``--every`` seconds it samples the resident
memory (RSS) of every process of the deployment — the server and the dispatcher processes it
started — the inbox backlog (received, not yet applied), the outbox backlog (effects pending or
being sent) and the event → webhook latency of the events delivered in that interval. What a
soak should show: memory flat, backlogs bounded, latency steady. ``--write`` records the table
and its summary in docs/performance.md. A measurement, never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from _common import POSTGRES_URL, machine, percentile, postgres_schema, record
from latency import Run, _receive, free_port, load, setup, start_server, stop_server

from itinera.storage import schema as t


@dataclass
class Sample:
    at: float  # seconds since the load began
    rss: dict[str, float]  # MiB by process ("serve", "dispatch 1", ...)
    inbox: int
    outbox: int
    delivered: int  # webhooks that arrived in the interval
    p50: float | None  # ms, of those
    p99: float | None


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def sample_forever(database: str, server_pid: int, run: Run, began: float, every: float,
                   samples: list[Sample], stop: threading.Event) -> None:
    engine = sa.create_engine(database)
    inbox = sa.select(sa.func.count()).select_from(t.inbox)
    outbox = sa.select(sa.func.count()).select_from(t.effects).where(
        t.effects.c.status.in_(["pending", "sending"]))
    seen = 0.0
    try:
        while not stop.wait(every):
            now = time.monotonic()
            rss = {"serve": _rss_mib(server_pid) or 0.0}
            for n, child in enumerate(_children(server_pid), 1):
                rss[f"dispatch {n}"] = _rss_mib(child) or 0.0
            with engine.connect() as connection:
                backlog_in = int(connection.execute(inbox).scalar_one())
                backlog_out = int(connection.execute(outbox).scalar_one())
            window = [1000 * (at - run.sent[e]) for e, at in _copy(run.arrived).items()
                      if seen < at <= now and e in run.sent]
            seen = now
            samples.append(Sample(now - began, rss, backlog_in, backlog_out, len(window),
                                  percentile(window, 50) if window else None,
                                  percentile(window, 99) if window else None))
    finally:
        engine.dispose()


def _copy(arrived: dict[str, float]) -> dict[str, float]:
    """A copy of what the receiver (another thread) keeps adding to."""
    while True:
        try:
            return dict(arrived)
        except RuntimeError:  # it grew while being copied
            continue


async def soak(base: str, key: str, hook_port: int, database: str, server_pid: int,
               args: argparse.Namespace) -> tuple[Run, list[Sample]]:
    run = Run()
    samples: list[Sample] = []
    stop = threading.Event()
    server = await asyncio.start_server(lambda r, w: _receive(r, w, run), "127.0.0.1", hook_port,
                                        backlog=1024)
    sampler = threading.Thread(target=sample_forever, daemon=True, args=(
        database, server_pid, run, time.monotonic(), args.every, samples, stop))
    sampler.start()
    try:
        async with server:
            await load(base, key, args.rate, args.minutes * 60, args.batch, args.accounts, run)
            deadline = time.monotonic() + 60
            while len(run.arrived) < len(run.sent) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            for writer in list(run.connections):
                writer.close()
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        sampler.join()
    return run, samples


def report(run: Run, samples: list[Sample], args: argparse.Namespace, backend: str) -> list[str]:
    names = sorted({name for s in samples for name in s.rss}, key=lambda n: (n != "serve", n))
    lines = [f"{backend}, {args.rate:,.0f} events/s for {args.minutes:g} min, one webhook per "
             f"event delivered to a receiver on loopback; a sample every {args.every:g} s:", "",
             "| at | " + " | ".join(f"RSS {n} (MiB)" for n in names)
             + " | inbox backlog | outbox backlog | delivered | p50 ms | p99 ms |",
             "|---" * (len(names) + 6) + "|"]
    step = max(1, len(samples) // 20)  # at most about 20 rows
    for s in samples[::step]:
        lines.append(f"| {s.at:.0f} s | " + " | ".join(f"{s.rss.get(n, 0):.0f}" for n in names)
                     + f" | {s.inbox} | {s.outbox} | {s.delivered} | "
                     + (f"{s.p50:.0f} | {s.p99:.0f} |" if s.p50 is not None else "– | – |"))
    latencies = [1000 * (run.arrived[e] - run.sent[e]) for e in run.arrived if e in run.sent]
    loaded = [s for s in samples if s.at <= args.minutes * 60]
    half = loaded[len(loaded) // 2:] or loaded
    lines.append("")
    if loaded:
        for name in names:
            first, last = half[0].rss.get(name, 0), loaded[-1].rss.get(name, 0)
            lines.append(f"- RSS of {name}: {loaded[0].rss.get(name, 0):.0f} MiB at the first "
                         f"sample, {first:.0f} MiB at half-time, {last:.0f} MiB at the end of the "
                         f"load (second half: {last - first:+.1f} MiB)")
        lines.append(f"- backlogs: inbox at most {max(s.inbox for s in loaded):,}, outbox at most "
                     f"{max(s.outbox for s in loaded):,} (second half at most "
                     f"{max(s.inbox for s in half):,} / {max(s.outbox for s in half):,})")
    if latencies:
        lines.append(f"- event → webhook delivered over the whole run: p50 "
                     f"{percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms, "
                     f"max {max(latencies):.0f} ms; {len(run.arrived):,} of {len(run.sent):,} "
                     f"delivered, {run.repeats} twice, {len(run.failures)} failed requests")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rate", type=float, default=200, help="events per second")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--every", type=float, default=10, help="seconds between samples")
    parser.add_argument("--batch", type=int, default=1, help="events per POST")
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--write", action="store_true", help="record in docs/performance.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="itinera-soak-") as directory:
        log = Path(directory) / "serve.log"
        if args.database == "sqlite":
            lines = _one(f"sqlite:///{directory}/itinera.db", "SQLite file", log, args)
        else:
            with postgres_schema(POSTGRES_URL, "bench_soak") as url:
                lines = _one(url, "PostgreSQL", log, args)
    print("\n".join(lines))
    if args.write:
        backend = "SQLite" if args.database == "sqlite" else "PostgreSQL"
        command = (f"    .venv/bin/python bench/soak.py --database {args.database} "
                   f"--rate {args.rate:g} --minutes {args.minutes:g}")
        record(f"soak_{args.database}", "\n".join([
            f"### Soak: memory, backlogs and latency over time, {backend} — `bench/soak.py`", "",
            command, "", machine(POSTGRES_URL if args.database == "postgresql" else None), "",
            *lines]))


def _one(database: str, backend: str, log: Path, args: argparse.Namespace) -> list[str]:
    port, hook_port = free_port(), free_port()
    process, key = start_server(database, port, log, [])
    try:
        base = f"http://127.0.0.1:{port}"
        setup(base, key, f"http://127.0.0.1:{hook_port}/hook", args.accounts)
        run, samples = asyncio.run(soak(base, key, hook_port, database, process.pid, args))
    finally:
        stop_server(process, log)
    return report(run, samples, args, backend)


if __name__ == "__main__":
    main()
