"""The parsed form of a condition: a small immutable tree the evaluators walk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

__all__ = [
    "DATE_OPERATORS",
    "OPERATORS",
    "All",
    "AnyOf",
    "BuyingGroupMatch",
    "Compare",
    "Condition",
    "Count",
    "InSegment",
    "Not",
    "PeopleCount",
    "Performed",
]

# Operators that read the value as an instant. `within_*` and `older_than` depend on the clock.
DATE_OPERATORS = frozenset({"within_next", "within_last", "older_than", "before", "after"})
OPERATORS = frozenset(
    {
        "eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "contains_ci", "eq_ci",
        "starts_with", "ends_with", "exists",
    }
) | DATE_OPERATORS


@dataclass(frozen=True)
class Compare:
    """``<path> <op> <value>``; ``path`` is the resolved path: scope then names.

    Scopes: ``account``, ``person``, ``properties`` (event), ``group`` (buying group). The first
    name after ``account``/``person`` is a built-in or an attribute: ``("account", "attr", "x")``
    is the attribute ``x``; ``("account", "builtin", "csm")`` the built-in. Further names index
    into nested mappings. For date operators taking a duration, ``value`` is a timedelta; for
    ``before``/``after`` a datetime.
    """

    path: tuple[str, ...]
    op: str
    value: Any


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


@dataclass(frozen=True)
class InSegment:
    segment: str


@dataclass(frozen=True)
class Count:
    """A test on a count: ``count <op> value`` with op one of eq, ne, gt, gte, lt, lte."""

    op: str
    value: int


@dataclass(frozen=True)
class PeopleCount:
    match: Condition
    count: Count


@dataclass(frozen=True)
class Performed:
    event: str
    where: Condition | None
    within_last: timedelta | None
    count: Count


@dataclass(frozen=True)
class BuyingGroupMatch:
    solution: str
    match: Condition


Condition = All | AnyOf | Not | Compare | InSegment | PeopleCount | Performed | BuyingGroupMatch
