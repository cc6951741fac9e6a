"""`itinera demo --for 8s`: creates ./itinera-demo.db, serves the API, feeds events on an
accelerated clock, shows journeys progressing, and exits 0 by itself."""

from __future__ import annotations

import json
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from itinera.runtime import ManualClock, Service
from itinera.runtime.demo import DemoFeed, demo_inputs, example_scenario
from itinera.timeutil import parse_instant


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
    assert "Stopped. The world stays in ./itinera-demo.db" in run.stdout.splitlines()[-1]
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_a_signal_stops_the_demo_cleanly_and_says_where_the_data_stays(
        tmp_path: Path, stop: signal.Signals) -> None:
    port = free_port()
    itinera = Path(sys.executable).with_name("itinera")
    demo = subprocess.Popen([str(itinera), "demo", "--port", str(port), "--accounts", "40",
                             "--seconds-per-day", "1"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert demo.stdout is not None
        seen = []
        for line in demo.stdout:  # runs with no end of its own: wait until it serves
            seen.append(line)
            if "enrollments:" in line:
                break
        home = httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=False)
        assert home.status_code == 307 and home.headers["location"] == "/ui/"
        demo.send_signal(stop)
        out, err = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    last = out.strip().splitlines()[-1]
    assert last.startswith("Stopped. The world stays in ./itinera-demo.db"), "".join(seen) + out
    assert not (tmp_path / "itinera-demo.db-wal").exists()  # closed: checkpointed
    db = sqlite3.connect(tmp_path / "itinera-demo.db")
    try:
        assert db.execute("SELECT count(*) FROM accounts").fetchone()[0] >= 40
    finally:
        db.close()


def test_accounts_keep_arriving_and_each_branch_gets_a_realistic_share(tmp_path: Path) -> None:
    """Twenty virtual days of the demo's feed (as `itinera demo` runs it, a round every 2/3 of a
    day), then the enrollments' paths counted from the store."""
    clock = ManualClock(parse_instant("2026-01-05T09:00:00Z"))
    service = Service(f"sqlite:///{tmp_path}/demo.db", clock, sandbox=True)
    try:
        rng = random.Random(2026)
        inputs = demo_inputs(example_scenario(), 150, rng)
        service.submit(inputs)
        service.work()
        feed = DemoFeed(service, inputs, rng)
        for _ in range(30):
            clock.set(clock.now() + timedelta(days=2 / 3))
            feed.tick()
            service.work()
        with service.store.transaction():
            enrollments = [e for e in service.store.enrollments() if e.journey == "bodea-x"]
    finally:
        service.close()
    assert feed.arrived >= 5 and feed.sent > 500
    newcomers = [e for e in enrollments if int(e.account.split("-")[1]) >= 150]
    assert newcomers  # accounts that arrived during the demo entered the journey

    def branch(path: list[str]) -> str:
        track = "ca" if "ca-roles" in path else "ny" if "ny-decision-makers" in path else "none"
        end = ("engaged" if "mark-engaged" in path else "nudged" if "nudge" in path
               else "listening" if "listen" in path else "")
        return f"{track} {end}".strip()

    shares = Counter(branch(e.path) for e in enrollments)
    total = sum(shares.values())
    share = {k: n / total for k, n in shares.items()}
    assert 0.05 <= share["none"] <= 0.35, shares  # neither California nor New York
    for track in ("ca", "ny"):
        assert share[f"{track} engaged"] >= 0.04, shares  # sales gets a task
        assert share[f"{track} nudged"] >= 0.1, shares  # quiet for two weeks: the reminder
    engaged = share["ca engaged"] + share["ny engaged"]
    assert 0.1 <= engaged <= 0.6, shares
