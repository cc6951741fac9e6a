"""Quiet hours: an email due in quiet hours, in the account's own time zone, waits until they
are over (or is skipped with the reason ``quiet_hours``); live, the outbox holds it back until
then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from itinera.channels import ChannelSettings, SmtpSettings, UnsubscribeSettings, build_channels
from itinera.runtime.clock import ManualClock
from itinera.runtime.dispatcher import Dispatcher
from itinera.runtime.service import Service

from .helpers import run
from .smtp_server import Collector, start

SCENARIO = """
start: 2026-01-05T02:00:00Z
until: 3d
data:
  quiet_hours:
    email: {start: "21:00", end: "08:00", days: [sunday], time_zone: Europe/Paris, then: THEN}
  accounts:
    - {id: ny, attributes: {tier: gold, time_zone: America/New_York}}
    - {id: paris, attributes: {tier: gold}}
    - {id: tokyo, attributes: {tier: gold, time_zone: Asia/Tokyo}}
    - {id: nowhere, attributes: {tier: gold, time_zone: Mars/Olympus}}
  people:
    - {id: p-ny, account: ny, email: a@ny.test}
    - {id: p-paris, account: paris, email: a@paris.test}
    - {id: p-tokyo, account: tokyo, email: a@tokyo.test}
    - {id: p-nowhere, account: nowhere, email: a@nowhere.test}
  segments: [{id: gold, when: {account.tier: gold}}]
  templates: [{id: hello, subject: "Hello {{ account.id }}"}]
journeys:
  - id: hello
    entry: {segments: [gold], existing: true}
    start: greet
    nodes:
      greet: {do: [{send_email: {template: hello}}]}
timeline:
  - {at: 0s, enable: hello}
"""


def test_emails_in_quiet_hours_wait_for_the_local_morning(tmp_path: Path, database_url: str) -> None:
    result = run(tmp_path, database_url, SCENARIO.replace("THEN", "defer"))
    sent = {d["account"]: (d["at"], d.get("deferred_from")) for d in result["deliveries"]}
    assert sent == {
        # Sunday 21:00 in New York (quiet day and window) → Monday 08:00 EST.
        "ny": ("2026-01-05T13:00:00Z", "2026-01-05T02:00:00Z"),
        # No zone of its own: the default, Paris, 03:00 → 08:00 CET.
        "paris": ("2026-01-05T07:00:00Z", "2026-01-05T02:00:00Z"),
        # 11:00 on Monday in Tokyo: not quiet, sent at once.
        "tokyo": ("2026-01-05T02:00:00Z", None),
        # An unknown zone falls back to the default.
        "nowhere": ("2026-01-05T07:00:00Z", "2026-01-05T02:00:00Z"),
    }
    assert result["skipped"] == []


def test_quiet_hours_can_skip_instead(tmp_path: Path, database_url: str) -> None:
    result = run(tmp_path, database_url, SCENARIO.replace("THEN", "skip"))
    assert [d["account"] for d in result["deliveries"]] == ["tokyo"]
    assert sorted((s["account"], s["reason"]) for s in result["skipped"]) == [
        ("nowhere", "quiet_hours"), ("ny", "quiet_hours"), ("paris", "quiet_hours")]


def test_live_the_outbox_holds_a_deferred_email_until_morning(tmp_path: Path,
                                                               database_url: str) -> None:
    clock = ManualClock(datetime(2026, 1, 5, 2, tzinfo=UTC))
    collector = Collector()
    smtp = start(collector)
    port = next(smtp)
    service = Service(database_url, clock)
    try:
        service.submit([
            {"configure": {
                "quiet_hours": {"email": {"start": "21:00", "end": "08:00"}},
                "segments": [{"id": "gold", "when": {"account.tier": "gold"}}],
                "templates": [{"id": "hello", "subject": "Hello"}]}},
            {"publish": {"id": "hello", "entry": {"segments": ["gold"]}, "start": "greet",
                         "nodes": {"greet": {"do": [{"send_email": {"template": "hello"}}]}}}},
            {"enable": "hello"},
            {"upsert_person": {"id": "p1", "account": "acme", "email": "p1@acme.test"}},
            {"upsert_account": {"id": "acme", "attributes": {"tier": "gold"}}},
        ])
        service.work()
        channels = build_channels(ChannelSettings(
            smtp=SmtpSettings(host="127.0.0.1", port=port, starttls=False,
                              from_address="cs@vendor.test", timeout=5),
            unsubscribe=UnsubscribeSettings(base_url="https://app.test/u", secret="s")))
        dispatcher = Dispatcher(service.store, channels, clock)
        assert dispatcher.dispatch() == 0  # 02:00 UTC: quiet until 08:00
        clock.advance(timedelta(hours=5, minutes=59))
        assert dispatcher.dispatch() == 0
        clock.advance(timedelta(minutes=1))
        assert dispatcher.dispatch() == 1
        assert [r.rcpt_tos for r in collector.received] == [["p1@acme.test"]]
    finally:
        service.close()
        next(smtp, None)


def test_the_readable_report_says_which_sends_waited(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from itinera.cli.main import app

    path = tmp_path / "quiet.yaml"
    path.write_text(SCENARIO.replace("THEN", "defer"))
    shown = CliRunner().invoke(app, ["simulate", str(path)])
    assert shown.exit_code == 0
    assert ("2026-01-05T13:00:00Z  email   → a@ny.test  Hello ny  (quiet hours: decided "
            "2026-01-05T02:00:00Z)") in shown.stdout
