"""``itinera worker``: an extra worker process on a shared PostgreSQL database applies what the
service received, and stops cleanly on SIGTERM; on SQLite it is refused."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from itinera.runtime import Service
from itinera.storage import schema as t

ITINERA = str(Path(sys.executable).with_name("itinera"))


def test_a_worker_process_applies_the_inbox_and_stops_on_sigterm(postgres_url: str) -> None:
    intake = Service(postgres_url, sandbox=True, shared=True)  # receives; never works here
    try:
        intake.submit([
            {"configure": {"segments": [{"id": "gold", "when": {"account.tier": "gold"}}],
                           "templates": [{"id": "hi", "subject": "Hi"}]}},
            {"publish": {"id": "hello", "entry": {"segments": ["gold"]}, "start": "greet",
                         "nodes": {"greet": {"do": [{"send_email": {"template": "hi"}}]}}}},
            {"enable": "hello"},
            *({"upsert_account": {"id": f"a{i}", "attributes": {"tier": "gold"}}}
              for i in range(20)),
        ])
        worker = subprocess.Popen([ITINERA, "worker", "--database", postgres_url, "--sandbox"],
                                  stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            enrolled = 0
            while time.monotonic() < deadline and enrolled < 20:
                time.sleep(0.2)
                with intake.intake.engine.connect() as connection:
                    enrolled = connection.execute(
                        sa.select(sa.func.count()).select_from(t.enrollments)).scalar_one()
            assert enrolled == 20
        finally:
            worker.send_signal(signal.SIGTERM)
            _, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 0
        assert "worker started" in stderr and "worker stopped" in stderr
    finally:
        intake.close()


def test_a_worker_on_sqlite_is_refused(tmp_path: Path) -> None:
    done = subprocess.run([ITINERA, "worker", "--database", f"sqlite:///{tmp_path}/x.db"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "several workers need PostgreSQL" in done.stderr
