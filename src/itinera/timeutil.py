"""Durations and instants as the journey language writes them.

Durations are an integer and a unit (``30s``, ``15m``, ``2h``, ``3d``, ``1w``), optionally signed
where an offset is meant, of at most 100 years either way. Instants are UTC: every parser here
returns them in UTC whatever offset the text carried (a stored or compared instant in another
offset would be taken for UTC where the offset is dropped, as SQLite's text timestamps do); written
ones are from year 1900 to 2999 (so that an instant plus any duration is still one); they are
printed as ISO-8601 with a ``Z``. Parsing of
dates found in *data* (attribute values) is deliberately narrow — exactly the forms the SQL side
parses too — so that Python and SQL agree on which values are dates.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

__all__ = [
    "DURATION_PATTERN",
    "as_utc",
    "format_instant",
    "parse_data_instant",
    "parse_duration",
    "parse_instant",
]

DURATION_PATTERN = r"^[+-]?[0-9]+[smhdw]$"
_DURATION = re.compile(DURATION_PATTERN)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_DURATION = timedelta(days=36_500)
_EARLIEST, _LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC)
# The forms of a date accepted in data: a date, or a date and time (seconds and fraction
# optional), with an optional Z or +HH:MM offset; no offset means UTC.
_DATA_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}:\d{2})?$"
)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive value (as SQLite returns instants) is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_duration(text: str) -> timedelta:
    """``3d`` -> 3 days. Raises ValueError naming the text when it is not a duration."""
    if not isinstance(text, str):
        raise ValueError(
            f"bad duration {text!r}: write an integer and a unit (30s, 15m, 2h, 3d, 1w)"
        )
    return _parse_duration(text)


@lru_cache(maxsize=1024)
def _parse_duration(text: str) -> timedelta:
    if not _DURATION.match(text):
        raise ValueError(
            f"bad duration {text!r}: write an integer and a unit (30s, 15m, 2h, 3d, 1w)"
        )
    # Bounded before timedelta sees it: a huge count would overflow it, or any instant it is
    # added to.
    if len(text) > 16 or abs(int(text[:-1]) * _UNITS[text[-1]]) > MAX_DURATION.total_seconds():
        shown = text if len(text) <= 30 else f"{text[:20]}..."
        raise ValueError(f"bad duration {shown!r}: at most 100 years (36500d) either way")
    return timedelta(seconds=int(text[:-1]) * _UNITS[text[-1]])


def parse_instant(value: object) -> datetime:
    """An instant written in a definition: ISO-8601 (no offset = UTC), from year 1900 to
    2999, or a datetime; in UTC."""
    parsed: datetime | None = None
    try:
        if isinstance(value, datetime):
            parsed = as_utc(value)  # then checked for its range as a written one is
        elif isinstance(value, str):
            parsed = as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except (ValueError, OverflowError):  # OverflowError: in UTC, before year 1 or after 9999
        pass
    shown = repr(value) if len(repr(value)) <= 60 else f"{repr(value)[:40]}..."
    if parsed is None:
        raise ValueError(f"bad date {shown}: write ISO-8601, e.g. 2026-03-01T09:00:00Z")
    if not _EARLIEST <= parsed < _LATEST:
        raise ValueError(f"bad date {shown}: out of range (years 1900 to 2999)")
    return parsed


def parse_data_instant(value: object) -> datetime | None:
    """An attribute value read as an instant, or None when it is not one.

    Numbers are Unix timestamps (seconds); strings must have one of the narrow ISO forms. The
    instant is in UTC, whatever offset the value was written with.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        if isinstance(value, datetime):
            return as_utc(value)
        if isinstance(value, str) and _DATA_INSTANT.match(value):
            return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except (ValueError, OverflowError):  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        return None
    return None


def format_instant(value: datetime | None) -> str | None:
    """UTC ISO-8601 with a Z, seconds precision unless there is a fraction."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    text = f"{value.year:04d}" + value.strftime("-%m-%dT%H:%M:%S")  # %Y does not pad year 1
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"
