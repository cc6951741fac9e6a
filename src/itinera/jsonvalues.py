"""JSON values every store can hold, and the bound on their nesting.

Whatever is received (a request body, an input, a message) is checked before it is stored, so
that storing it cannot fail and the same value behaves alike on SQLite and PostgreSQL:
integers fit in 64 signed bits (SQLite's integers, PostgreSQL's bigint, the JSON encoder),
numbers are finite, text holds no NUL character (PostgreSQL refuses it) and no lone UTF-16
surrogate (``"\\ud800"`` in JSON: no character at all, it cannot be written as UTF-8), and
nesting is at most :data:`MAX_DEPTH` levels (validation and the condition parser recurse).

:func:`value_problems` says what is wrong and where; :func:`storable` is a copy fit to keep as
it came (a rejected message), each unfit part replaced by text saying what it was.
"""

from __future__ import annotations

import math
import re
from typing import Any

from itinera.errors import Problem

__all__ = ["INT_MAX", "INT_MIN", "MAX_DEPTH", "storable", "text_problem", "value_problems"]

MAX_DEPTH = 64
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """What makes ``text`` unfit to store, or None."""
    if "\x00" in text:
        return "text with a NUL character (\\u0000), which cannot be stored"
    found = _SURROGATE.search(text)
    if found:
        return (f"text with a lone UTF-16 surrogate (\\u{ord(found.group()):04x}), "
                "which is no character")
    return None


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if INT_MIN <= value <= INT_MAX:
            return None
        try:
            digits = str(value)
        except ValueError:  # more digits than Python prints
            digits = "(thousands of digits)"
        shown = digits if len(digits) <= 30 else f"{digits[:12]}... ({len(digits)} digits)"
        return f"the integer {shown} is out of range: integers are 64-bit, from {INT_MIN} to {INT_MAX}"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"the number {value} is not finite"
    if isinstance(value, str):
        return text_problem(value)
    return None


def _join(place: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{place}[{key}]"
    return f"{place}.{key}" if place else key


def value_problems(value: Any, place: str = "") -> list[Problem]:
    """Every part of ``value`` that cannot be stored, each with its place; a key that cannot
    be is named by the place of its mapping. Iterative: any depth is reported, not recursed."""
    out: list[Problem] = []
    stack: list[tuple[Any, str, int]] = [(value, place, 0)]
    while stack:
        item, here, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                out.append(Problem(here, f"nested deeper than {MAX_DEPTH} levels"))
                continue
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            children = []
            for key, child in pairs:
                if isinstance(key, str) and (wrong := text_problem(key)) is not None:
                    out.append(Problem(here, f"the key {_repair(key)!r}: {wrong}"))
                    continue
                children.append((child, _join(here, key), depth + 1))
            stack.extend(reversed(children))  # reported in document order
        elif (wrong := _scalar_problem(item)) is not None:
            out.append(Problem(here, wrong))
    return out


def _repair(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text.replace("\x00", "\ufffd"))


def storable(value: Any, depth: int = 0) -> Any:
    """``value`` with every unfit part replaced: text repaired (U+FFFD for each NUL or lone
    surrogate), an integer out of range or a number not finite as its text, nesting beyond
    :data:`MAX_DEPTH` as a note. The caller bounds the size (requests are capped)."""
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return f"(nested deeper than {MAX_DEPTH} levels)"
        return {(_repair(k) if isinstance(k, str) else k): storable(v, depth + 1)
                for k, v in value.items()}
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            return f"(nested deeper than {MAX_DEPTH} levels)"
        return [storable(v, depth + 1) for v in value]
    if isinstance(value, str):
        return _repair(value) if text_problem(value) else value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool) and _scalar_problem(value):
        try:
            return str(value)
        except ValueError:  # more digits than Python prints
            return "(an integer of too many digits)"
    return value
