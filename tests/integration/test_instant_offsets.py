"""Instants written with a UTC offset (``-05:00``, ``+05:30``) or as a bare date are the
instants they name: time-based flips, ``wait_until`` and event times fall at the exact UTC
instant, simulated and live, on SQLite and PostgreSQL alike (issue 9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .helpers import by, enrollment, run, simulated_and_live

# west's dates are behind UTC, east's ahead, plain's are bare dates (midnight UTC).
SCENARIO = """
start: 2026-01-05T09:00:00Z
until: 110d
data:
  csms:
    - {id: ann, name: Ann Lee, email: ann@vendor.test}
  accounts:
    - {id: west, created_at: "2025-12-20T12:00:00-08:00",
       attributes: {renewal_date: "2026-04-15T17:30:00-05:00"}}
    - {id: east, created_at: "2025-12-20T12:00:00+09:00",
       attributes: {renewal_date: "2026-04-15T17:30:00+05:30"}}
    - {id: plain, created_at: "2025-12-20", attributes: {renewal_date: "2026-04-15"}}
  segments:
    - {id: renewal-soon, when: {account.renewal_date: {within_next: 90d}}}
    - {id: mature, when: {account.created_at: {older_than: 30d}}}
    - {id: active, when: {performed: {event: login, within_last: 1d}}}
journeys:
  - id: renew
    entry: {segments: [renewal-soon]}
    exit: {on_segment_exit: true}
    start: w
    nodes:
      w: {wait_until: {date: account.renewal_date, offset: -30d}, next: t}
      t: {do: [{create_task: {title: Call, assignee: ann}}], next: hold}
      hold: {wait: 60d}
  - id: mature
    entry: {segments: [mature]}
    start: w
    nodes:
      w: {wait_until: {at: "2026-02-01T09:00:00-05:00"}, next: t}
      t: {do: [{create_task: {title: Check, assignee: ann}}]}
  - id: active
    entry: {segments: [active]}
    exit: {on_segment_exit: true}
    start: w
    nodes:
      w: {wait: 30d}
timeline:
  - {at: 0s, enable: renew}
  - {at: 0s, enable: mature}
  - {at: 0s, enable: active}
  - {at: 1d, event: {type: login, account: west, at: "2026-01-06T01:00:00-05:00"}}
  - {at: 1d, event: {type: login, account: east, at: "2026-01-06T11:00:00+05:30"}}
"""


def spans(result: dict[str, Any], journey: str) -> dict[str, tuple[Any, ...]]:
    return {a: (enrollment(result, journey, a)["enrolled_at"], enrollment(result, journey, a)["status"],
                enrollment(result, journey, a)["ended_at"])
            for a in ("west", "east", "plain") if any(
                e["journey"] == journey and e["account"] == a for e in result["enrollments"])}


def check(result: dict[str, Any]) -> None:
    # within_next 90d holds from renewal − 90d (inclusive) to renewal (exclusive), in UTC:
    # 17:30-05:00 is 22:30Z, 17:30+05:30 is 12:00Z, a bare date is midnight UTC.
    assert spans(result, "renew") == {
        "west": ("2026-01-15T22:30:00Z", "unenrolled", "2026-04-15T22:30:00Z"),
        "east": ("2026-01-15T12:00:00Z", "unenrolled", "2026-04-15T12:00:00Z"),
        "plain": ("2026-01-15T00:00:00Z", "unenrolled", "2026-04-15T00:00:00Z"),
    }
    # older_than 30d on created_at: 12:00-08:00 is 20:00Z, 12:00+09:00 is 03:00Z.
    assert spans(result, "mature") == {
        "west": ("2026-01-19T20:00:00Z", "completed", "2026-02-01T14:00:00Z"),
        "east": ("2026-01-19T03:00:00Z", "completed", "2026-02-01T14:00:00Z"),
        "plain": ("2026-01-19T00:00:00Z", "completed", "2026-02-01T14:00:00Z"),
    }
    # wait_until renewal − 30d, and wait_until an instant written at -05:00.
    assert sorted(by(result["tasks"], "journey", "account", "at")) == [
        ("mature", "east", "2026-02-01T14:00:00Z"),
        ("mature", "plain", "2026-02-01T14:00:00Z"),
        ("mature", "west", "2026-02-01T14:00:00Z"),
        ("renew", "east", "2026-03-16T12:00:00Z"),
        ("renew", "plain", "2026-03-16T00:00:00Z"),
        ("renew", "west", "2026-03-16T22:30:00Z"),
    ]
    # An event whose own `at` carries an offset counts from that instant: 01:00-05:00 is
    # 06:00Z, 11:00+05:30 is 05:30Z; within_last 1d stops holding a day later.
    assert spans(result, "active") == {
        "west": ("2026-01-06T09:00:00Z", "unenrolled", "2026-01-07T06:00:00Z"),
        "east": ("2026-01-06T09:00:00Z", "unenrolled", "2026-01-07T05:30:00Z"),
    }


def test_offsets_and_bare_dates_flip_at_their_utc_instant_simulated(
        tmp_path: Path, database_url: str) -> None:
    check(run(tmp_path, database_url, SCENARIO))


def test_offsets_and_bare_dates_flip_at_their_utc_instant_live(
        tmp_path: Path, database_url: str) -> None:
    simulated, live = simulated_and_live(tmp_path, database_url, SCENARIO)
    check(live)
    assert live == simulated
