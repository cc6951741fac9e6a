"""Benchmark: the studio's segment preview (``studio.segment_preview``: the count of the accounts
a condition matches now and the first 20 by id) on the world of ``bench/segments.py``.

    .venv/bin/python bench/segment_preview.py                        # 100,000 accounts, SQLite
    .venv/bin/python bench/segment_preview.py --accounts 1000000 --write

The world is built once (``_segments_world``, 5 people and 10 events per account) and kept in
``--data``. Each condition is previewed ``--repeat`` times; the fastest run counts (the machine
is shared), the others are listed. ``--write`` records the figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _common import machine, record  # bench/ is on the path
from _segments_world import NOW
from segments import SEGMENTS, _world

from itinera.conditions import parse_condition
from itinera.storage.engine import create_engine
from itinera.studio.segment_preview import preview

CONDITIONS = {
    "an attribute": {"account.size": "Large"},
    **SEGMENTS,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=Path("/tmp/itinera-segments"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{args.data / f'segments-{args.accounts}.db'}"
    _world(url, args.accounts)
    engine = create_engine(url)
    lines = [f"Segment preview (count + 20 sampled), SQLite, {args.accounts:,} accounts "
             f"({machine()}):", "", "| condition | matching | fastest | runs |", "|---|---|---|---|"]
    for name, raw in CONDITIONS.items():
        tree = parse_condition(raw)
        runs = []
        with engine.connect() as connection:
            for _ in range(args.repeat):
                began = time.perf_counter()
                found = preview(connection, tree, NOW, time_limit=600)
                runs.append(time.perf_counter() - began)
                connection.rollback()
        line = (f"| {name} | {found.count:,} | {min(runs) * 1000:,.0f} ms | "
                f"{', '.join(f'{r * 1000:,.0f}' for r in runs)} |")
        lines.append(line)
        print(line, flush=True)
    engine.dispose()
    if args.write:
        record("segment-preview", "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
