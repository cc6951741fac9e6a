"""Benchmark: how long the ``itinera`` command takes to start, next to ``python -c pass``.

    .venv/bin/python bench/cli_startup.py [--runs 9]

Runs each command ``--runs`` times in a fresh process and reports the fastest and the median wall
time: ``python -c pass`` (the interpreter alone, the floor), ``itinera --help``, ``itinera validate``
on an example journey, ``itinera simulate --help`` (the simulator and the engine loaded, nothing
run), ``itinera serve --help`` (the web stack loaded), and every command's module imported at
once, as ``itinera`` did before it loaded them lazily. Each command imports only its own
modules (``itinera.cli.main``), so the light ones never wait for FastAPI, SQLAlchemy or scipy.
Writes its block of docs/performance.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, machine, record

ITINERA = str(Path(sys.executable).parent / "itinera")
JOURNEY = str(ROOT / "examples" / "csb-renewal.journey.yaml")
WORKSPACE = str(ROOT / "examples" / "csb-renewal.scenario.yaml")
COMMANDS: list[tuple[str, list[str]]] = [
    ("`python -c pass` (reference)", [sys.executable, "-c", "pass"]),
    ("`itinera --help`", [ITINERA, "--help"]),
    ("`itinera validate JOURNEY --workspace SCENARIO`",
     [ITINERA, "validate", JOURNEY, "--workspace", WORKSPACE]),
    ("`itinera simulate --help`", [ITINERA, "simulate", "--help"]),
    ("`itinera serve --help`", [ITINERA, "serve", "--help"]),
    ("every command's module imported (what `--help` did before)",
     [sys.executable, "-c", "import importlib, itinera.cli.main as m; "
      "[importlib.import_module(c.module) for c in m.COMMANDS.values()]"]),
]


def timed(command: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    rows = []
    for label, command in COMMANDS:
        timed(command)  # warm the file cache and the bytecode
        times = [timed(command) for _ in range(args.runs)]
        rows.append(f"| {label} | {min(times):.2f} s | {statistics.median(times):.2f} s |")
        print(rows[-1], flush=True)
    block = "\n".join([
        "### Command start-up — `bench/cli_startup.py`",
        "",
        f"Each command {args.runs} times in a fresh process (fastest and median wall time). "
        "`itinera --help` lists the commands from a table without importing them; each command "
        "imports only its own modules (`src/itinera/cli/main.py`).",
        "",
        "| command | fastest | median |",
        "| --- | --- | --- |",
        *rows,
        "",
        machine(),
    ])
    record("cli_startup", block)


if __name__ == "__main__":
    main()
