"""What the runtime benchmarks share: the machine they ran on, a PostgreSQL schema of their own,
percentiles, and recording their figures in docs/performance.md.

Each benchmark writes one block of the "Live runtime" section, between the markers
``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``; running it again replaces its block.
"""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

__all__ = [
    "POSTGRES_URL",
    "ROOT",
    "machine",
    "percentile",
    "postgres_schema",
    "process_cpu",
    "record",
]

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("ITINERA_BENCH_POSTGRES") or os.environ.get(
    "ITINERA_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_DOC = ROOT / "docs" / "performance.md"
_SECTION = "## Live runtime"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def machine(postgres_url: str | None = None) -> str:
    """One line saying what the figures were measured on, and how busy it was."""
    parts = [f"{_cpu_model()}, {os.cpu_count()} cores, {_memory_gib():.0f} GiB",
             f"Linux {platform.release()}" if platform.system() == "Linux" else platform.system(),
             f"{platform.python_implementation()} {platform.python_version()}",
             f"SQLite {sqlite3.sqlite_version}", f"SQLAlchemy {sa.__version__}"]
    if postgres_url is not None:
        engine = sa.create_engine(postgres_url)
        try:
            with engine.connect() as connection:
                parts.append(f"PostgreSQL {connection.execute(sa.text('SHOW server_version')).scalar()}")
        finally:
            engine.dispose()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {'; '.join(parts)}; "
            f"load average at the end {load}.")


@contextmanager
def postgres_schema(url: str = POSTGRES_URL, prefix: str = "bench") -> Iterator[str]:
    """A URL to a fresh schema of the PostgreSQL database at ``url``, dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def process_cpu(pid: int) -> float:
    """CPU seconds of process ``pid`` and of its children, living or reaped."""
    total = 0.0
    for stat in [Path(f"/proc/{pid}/stat"),
                 *Path(f"/proc/{pid}/task").glob("*/children")]:
        if stat.name == "stat":
            fields = stat.read_text().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        else:
            for child in stat.read_text().split():
                try:
                    fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                total += sum(int(x) for x in fields[11:13]) / os.sysconf("SC_CLK_TCK")
    return total


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def record(name: str, block: str, path: Path = _DOC) -> None:
    """Put ``block`` between the markers of ``name`` in the "Live runtime" section."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = path.read_text() if path.exists() else "# Performance\n"
    body = f"{start}\n{block.strip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + body + rest.split(end, 1)[1]
    else:
        if _SECTION not in text:
            text = text.rstrip() + f"\n\n{_SECTION}\n"
        text = text.rstrip() + f"\n\n{body}\n"
    path.write_text(text)
