"""Quiet hours in a time zone: the window (wrapping past midnight or not), quiet weekdays, and
the first instant after them, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from itinera.domain.quiet_hours import QuietHours, zone

NEW_YORK = ZoneInfo("America/New_York")


def quiet(start: str = "21:00", end: str = "08:00", days: frozenset[int] = frozenset()) -> QuietHours:
    return QuietHours(start=time.fromisoformat(start), end=time.fromisoformat(end), days=days,
                      default_zone=UTC, zone_attribute="time_zone", then="defer")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("instant", "expected"), [
    ("2026-01-05T20:59:59", False), ("2026-01-05T21:00:00", True), ("2026-01-06T07:59:59", True),
    ("2026-01-06T08:00:00", False), ("2026-01-05T12:00:00", False), ("2026-01-05T00:00:00", True),
])
def test_a_window_wrapping_past_midnight(instant: str, expected: bool) -> None:
    assert quiet().is_quiet(utc(instant), UTC) is expected


def test_a_window_within_one_day_and_an_empty_window() -> None:
    lunch = quiet("12:00", "13:00")
    assert lunch.is_quiet(utc("2026-01-05T12:30:00"), UTC)
    assert not lunch.is_quiet(utc("2026-01-05T13:00:00"), UTC)
    assert lunch.next_open(utc("2026-01-05T12:30:00"), UTC) == utc("2026-01-05T13:00:00")
    never = quiet("09:00", "09:00")
    assert not never.is_quiet(utc("2026-01-05T09:00:00"), UTC)


def test_the_next_open_instant_is_in_local_time() -> None:
    # 02:00Z on Monday 5 January is 21:00 on Sunday in New York (UTC−5): quiet until 08:00
    # local on Monday, 13:00Z.
    assert quiet().next_open(utc("2026-01-05T02:00:00"), NEW_YORK) == utc("2026-01-05T13:00:00")
    # 06:00Z is 01:00 local, after midnight: the same morning's end.
    assert quiet().next_open(utc("2026-01-05T06:00:00"), NEW_YORK) == utc("2026-01-05T13:00:00")
    # Not quiet: now.
    assert quiet().next_open(utc("2026-01-05T15:00:00"), NEW_YORK) == utc("2026-01-05T15:00:00")


def test_quiet_days_carry_over_to_the_next_open_morning() -> None:
    weekend = quiet(days=frozenset({5, 6}))  # Saturday, Sunday
    # Friday 22:00 UTC → quiet night → Saturday and Sunday quiet → Monday 08:00.
    assert weekend.next_open(utc("2026-01-09T22:00:00"), UTC) == utc("2026-01-12T08:00:00")
    only_days = quiet("00:00", "00:00", days=frozenset({6}))
    assert only_days.next_open(utc("2026-01-11T10:00:00"), UTC) == utc("2026-01-12T00:00:00")


def test_daylight_saving_changes_move_the_utc_instant() -> None:
    # New York springs forward on 8 March 2026: 08:00 local is 12:00Z after it, 13:00Z before.
    assert quiet().next_open(utc("2026-03-07T06:00:00"), NEW_YORK) == utc("2026-03-07T13:00:00")
    assert quiet().next_open(utc("2026-03-08T06:00:00"), NEW_YORK) == utc("2026-03-08T12:00:00")
    # It falls back on 1 November 2026: 08:00 local is 13:00Z again.
    assert quiet().next_open(utc("2026-11-01T07:00:00"), NEW_YORK) == utc("2026-11-01T13:00:00")


def test_an_end_inside_the_spring_forward_gap_lands_after_it() -> None:
    gap = quiet("21:00", "02:30")
    opened = gap.next_open(utc("2026-03-08T05:00:00"), NEW_YORK)  # 00:00 EST
    assert opened == utc("2026-03-08T07:30:00")  # 03:30 EDT: 02:30 does not exist that night
    assert not gap.is_quiet(opened, NEW_YORK)


def test_the_account_zone_comes_from_its_attribute_or_the_default() -> None:
    hours = quiet()
    assert hours.zone_of({"time_zone": "America/New_York"}) == NEW_YORK
    assert hours.zone_of({"time_zone": "Mars/Olympus"}) is UTC
    assert hours.zone_of({"time_zone": 5}) is UTC
    assert hours.zone_of({}) is UTC
    assert zone("../../etc/passwd") is None
