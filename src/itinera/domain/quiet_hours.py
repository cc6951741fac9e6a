"""Quiet hours: the local times at which an account's people are not sent email.

A window of local wall-clock time (``21:00``–``08:00`` wraps past midnight) and optionally whole
days (``saturday``, ``sunday``), read in the account's own time zone: an IANA name in one of its
attributes, or the workspace's default zone. A send that falls in quiet hours is deferred to the
first instant they are over, or skipped, as configured. Pure: the caller gives the instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["WEEKDAYS", "QuietHours", "zone"]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def zone(name: Any) -> ZoneInfo | None:
    """The time zone named ``name``, or None when it is not a known IANA name."""
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class QuietHours:
    """When not to send. ``start == end`` means no daily window (only ``days``)."""

    start: time
    end: time
    days: frozenset[int]  # weekdays quiet all day, Monday = 0
    default_zone: tzinfo
    zone_attribute: str
    then: Literal["defer", "skip"]

    def zone_of(self, attributes: dict[str, Any]) -> tzinfo:
        """The account's time zone: its attribute when that names a zone, else the default."""
        return zone(attributes.get(self.zone_attribute)) or self.default_zone

    def _in_window(self, moment: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # wraps past midnight

    def is_quiet(self, instant: datetime, where: tzinfo) -> bool:
        local = instant.astimezone(where)
        return local.weekday() in self.days or self._in_window(local.time().replace(tzinfo=None))

    def next_open(self, instant: datetime, where: tzinfo) -> datetime:
        """The first instant at or after ``instant`` (UTC) that is not quiet in ``where``."""
        current = instant
        for _ in range(16):  # at most a week of quiet days plus a window on each side
            if not self.is_quiet(current, where):
                return current
            local = current.astimezone(where)
            if local.weekday() in self.days:
                current = _local(local.date() + timedelta(days=1), time(0), where)
            elif local.time().replace(tzinfo=None) >= self.start and self.start > self.end:
                current = _local(local.date() + timedelta(days=1), self.end, where)
            else:
                current = _local(local.date(), self.end, where)
            current = max(current, instant)
        raise ValueError("quiet hours never end")  # every day quiet: refused by validation


def _local(day: date, at: time, where: tzinfo) -> datetime:
    """A local wall-clock time as a UTC instant. In a spring-forward gap the wall time does not
    exist; zoneinfo reads it with the offset before the gap, so it lands as far after the gap."""
    return datetime.combine(day, at, tzinfo=where).astimezone(UTC)
