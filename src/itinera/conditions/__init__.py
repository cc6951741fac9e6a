"""The condition language: parse, evaluate in Python, compile to SQL, find the next flip.

The SQL compiler (and with it SQLAlchemy) loads on first use of ``Tables`` or ``select_accounts``:
checking a journey file (``itinera validate``) parses conditions but never compiles them.
"""

from typing import TYPE_CHECKING, Any

from itinera.conditions.evaluate import Facts, evaluate, next_change, next_flip
from itinera.conditions.explain import explain
from itinera.conditions.parse import TRUE, Scope, parse_condition, referenced_segments
from itinera.conditions.tree import Condition

if TYPE_CHECKING:
    from itinera.conditions.sql import Tables, select_accounts

__all__ = [
    "TRUE",
    "Condition",
    "Facts",
    "Scope",
    "Tables",
    "evaluate",
    "explain",
    "next_change",
    "next_flip",
    "parse_condition",
    "referenced_segments",
    "select_accounts",
]

_COMPILER = {"Tables", "select_accounts"}


def __getattr__(name: str) -> Any:
    if name in _COMPILER:
        from itinera.conditions import sql

        return getattr(sql, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
