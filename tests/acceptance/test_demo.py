"""`itinera demo --for 8s`: creates ./itinera-demo.db, serves the API, feeds events on an
accelerated clock, shows journeys progressing, and exits 0 by itself."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path


def test_demo_runs_for_a_while_and_stops(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    itinera = Path(sys.executable).with_name("itinera")
    run = subprocess.run([str(itinera), "demo", "--for", "8s", "--port", str(port),
                          "--accounts", "60", "--seconds-per-day", "1"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"API on http://127.0.0.1:{port}" in run.stdout
    lines = [line for line in run.stdout.splitlines() if "enrollments:" in line]
    assert len(lines) >= 3
    days = [line[:10] for line in lines]
    assert days == sorted(days) and days[0] != days[-1]  # the virtual clock ran
    assert re.search(r"enrollments: .*\d+ (active|completed)", lines[-1])
    assert "email" in lines[-1]
    assert (tmp_path / "itinera-demo.db").exists()
    with sqlite3.connect(tmp_path / "itinera-demo.db") as db:
        emails = [json.loads(payload) for (payload,) in db.execute(
            "SELECT payload FROM effects WHERE channel = 'email' AND status != 'skipped'")]
    assert emails and not [e for e in emails if "None" in e["subject"] + e["text"]]
    # Every leaders' email names the person's role in the buying group.
    leaders = [e["text"] for e in emails if e["template"] == "dm-intro"]
    assert leaders and all(re.fullmatch(r"Dear \w+, as Decision Maker \.\.\.", t) for t in leaders)


def test_demo_refuses_a_taken_port_and_keeps_a_running_demos_database(tmp_path: Path) -> None:
    itinera = Path(sys.executable).with_name("itinera")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run([str(itinera), "demo", "--for", "5s", "--port", str(port)],
                             cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert f"port {port} is in use" in run.stderr
    assert not (tmp_path / "itinera-demo.db").exists()  # nothing was done
