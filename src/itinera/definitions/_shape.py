"""Shape problems: pydantic's validation errors turned into ``<place>: <problem>`` lines.

Pydantic reports a location as a tuple (``('split', 0, 'else')``); users read places
(``split[0].else``). The raw input is walked alongside the location so that the tags pydantic
inserts for the members of a union (``"literal['never','always']"``, ``'ReenrollAfter'``) are
dropped from the place, and the several errors one union produces collapse into one line.
Messages quote the offending value, because a place alone does not say what to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from itinera.errors import Problem
from itinera.timeutil import DURATION_PATTERN, format_instant, parse_duration

__all__ = ["describe", "join", "plain", "shape_problems"]

Part = str | int
# Called with the place's parts for an ``extra_forbidden`` error; may return a better message.
UnknownKeyHook = Callable[[list[Part]], str | None]

# Fields whose value is a duration: a non-string there gets the duration message, not
# pydantic's "should be a valid string", so the user learns what a duration looks like.
_DURATION_KEYS = frozenset({"wait", "offset", "timeout", "after", "until", "due"})
# One message per union field, clearer than the members' messages joined together.
_UNION_MESSAGES = {
    "reenroll": "expected never, always or {after: <duration>}",
    "clear": "expected 'account.<name>' or a list of them",
}
_PREFIXES = ("Value error, ", "Assertion failed, ")


def join(place: str, key: Part) -> str:
    """The place of ``key`` inside ``place``: ``a.b`` for a key, ``a[0]`` for an index."""
    if isinstance(key, int):
        return f"{place}[{key}]"
    return f"{place}.{key}" if place else key


def describe(value: Any) -> str:
    """A value as quoted in a message; containers by their kind only, to keep lines short."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def plain(value: Any) -> Any:
    """A copy of ``value`` with dates as ISO strings.

    The loader keeps timestamps as strings, but callers that parse YAML themselves get
    datetimes from PyYAML; the models expect the strings the user wrote.
    """
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return format_instant(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _walk(loc: tuple[Part, ...], raw: Any, kind: str) -> tuple[list[Part], int | None]:
    """The parts of ``loc`` that name places in ``raw``, and where a union tag was dropped."""
    parts: list[Part] = []
    union_at: int | None = None
    current = raw
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(part, int) and isinstance(current, list):
            parts.append(part)
            current = current[part] if 0 <= part < len(current) else None
        elif isinstance(current, dict) and part in current:
            parts.append(str(part) if isinstance(part, int) else part)
            current = current[part]
        elif last and kind in ("missing", "extra_forbidden"):
            parts.append(str(part))
            current = None
        else:
            if union_at is None:
                union_at = len(parts)
    return parts, union_at


def _message(error: Any, parts: list[Part], hook: UnknownKeyHook | None) -> str:
    kind: str = error["type"]
    value = error.get("input")
    message: str = error["msg"]
    last = parts[-1] if parts else ""
    if kind == "extra_forbidden":
        better = hook(parts) if hook else None
        return better or f"unknown key {last!r}"
    if kind == "missing":
        return f"required key {last!r} is missing"
    for prefix in _PREFIXES:
        if message.startswith(prefix):
            return message[len(prefix):]
    pattern = (error.get("ctx") or {}).get("pattern")
    in_timeline = parts[:1] == ["timeline"]
    is_duration = pattern == DURATION_PATTERN or (
        kind == "string_type" and (last in _DURATION_KEYS or (in_timeline and last == "at"))
    )
    if is_duration:
        try:
            parse_duration(value)
        except ValueError as problem:
            return str(problem)
    if kind == "too_short":
        least = (error.get("ctx") or {}).get("min_length", 1)
        got = len(value) if isinstance(value, list | dict) else 0
        return f"needs at least {least} item{'s' if least != 1 else ''}, got {got or 'none'}"
    if kind == "string_type" and isinstance(value, bool):
        return (f"expected text, got {value!r}: YAML reads unquoted yes, no, on, off, true and "
                "false as booleans; quote it ('yes')")
    if kind == "string_pattern_mismatch":
        return (f"bad id {value!r}: use lowercase letters, digits and '-', "
                "starting with a letter or digit")
    return f"{message}, got {describe(value)}"


def shape_problems(
    error: ValidationError, raw: Any, place: str, hook: UnknownKeyHook | None = None
) -> list[Problem]:
    """The problems of one pydantic error, in pydantic's order, with places under ``place``."""
    # Each entry is a finished problem or the key of a union whose members' errors are
    # gathered first and reported together where the union's first error stood.
    order: list[Problem | tuple[Part, ...]] = []
    unions: dict[tuple[Part, ...], list[tuple[list[Part], Any]]] = {}
    for item in error.errors():
        parts, union_at = _walk(tuple(item["loc"]), raw, item["type"])
        if union_at is None:
            order.append(_to_problem(place, parts, _message(item, parts, hook)))
            continue
        key = tuple(parts[:union_at])
        if key not in unions:
            unions[key] = []
            order.append(key)
        unions[key].append((parts, item))
    result: list[Problem] = []
    for entry in order:
        if isinstance(entry, Problem):
            result.append(entry)
        else:
            result.extend(_union_problems(place, list(entry), unions[entry], hook))
    return list(dict.fromkeys(result))


def _union_problems(
    place: str, base: list[Part], members: list[tuple[list[Part], Any]], hook: UnknownKeyHook | None
) -> list[Problem]:
    # When one member got further into the value (an error deeper than the union itself),
    # the input was meant as that member: report its errors alone.
    deeper = [(parts, item) for parts, item in members if len(parts) > len(base)]
    if deeper:
        return [_to_problem(place, parts, _message(item, parts, hook)) for parts, item in deeper]
    value = members[0][1].get("input")
    last = base[-1] if base else ""
    text = _UNION_MESSAGES.get(str(last)) or " or ".join(
        dict.fromkeys(_message(item, parts, hook).split(", got ")[0] for parts, item in members)
    )
    return [_to_problem(place, base, f"{text}, got {describe(value)}")]


def _to_problem(place: str, parts: list[Part], message: str) -> Problem:
    for part in parts:
        place = join(place, part)
    return Problem(place, message)
