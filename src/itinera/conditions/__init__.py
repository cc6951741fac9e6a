"""The condition language: parse, evaluate in Python, compile to SQL, find the next flip."""

from itinera.conditions.evaluate import Facts, evaluate, next_flip
from itinera.conditions.explain import explain
from itinera.conditions.parse import TRUE, Scope, parse_condition, referenced_segments
from itinera.conditions.sql import Tables, select_accounts
from itinera.conditions.tree import Condition

__all__ = [
    "TRUE",
    "Condition",
    "Facts",
    "Scope",
    "Tables",
    "evaluate",
    "explain",
    "next_flip",
    "parse_condition",
    "referenced_segments",
    "select_accounts",
]
