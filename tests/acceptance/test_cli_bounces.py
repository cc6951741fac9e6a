"""``itinera bounces``: a process receiving DSNs over SMTP (loopback) suppresses what bounced
hard, and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from integration.smtp_server import free_port
from integration.test_email_tracking_e2e import postfix_dsn
from itinera.channels.tracking import verp_address
from itinera.runtime import Service
from itinera.storage import schema as t
from itinera.storage import suppressions

ITINERA = str(Path(sys.executable).with_name("itinera"))


def test_the_bounces_command_suppresses_a_hard_bounce(database_url: str) -> None:
    Service(database_url).close()  # the schema
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:  # the email that bounced, which its return path names
        connection.execute(sa.insert(t.effects).values(
            id=7001, key="k1", channel="email", status="delivered", journey="j", node="n",
            account="acme", person="gone", attempts=1, at=datetime(2026, 3, 2, tzinfo=UTC),
            payload={"to": "gone@acme.test", "subject": "Hi"}))
    engine.dispose()
    verp = verp_address("bounces@vendor.test", "s", 7001)
    port = free_port()
    env = {**os.environ, "ITINERA_UNSUBSCRIBE_SECRET": "s"}
    process = subprocess.Popen([ITINERA, "bounces", "--database", database_url, "--port",
                                str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                    client.sendmail("", [verp], postfix_dsn("gone@acme.test", "5.1.1"))
                break
            except OSError:
                assert time.monotonic() < deadline, "itinera bounces did not start"
                time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            assert [s["address"] for s in suppressions.list_suppressions(connection)] == [
                "gone@acme.test"]
    finally:
        engine.dispose()


def test_the_bounces_command_needs_the_secret(database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ITINERA_UNSUBSCRIBE_SECRET"}
    done = subprocess.run([ITINERA, "bounces", "--database", database_url], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "ITINERA_UNSUBSCRIBE_SECRET" in done.stderr
