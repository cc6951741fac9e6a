"""The JSON Schema of the condition language, generated from the condition parser's tables.

One definition per scope (what names a condition may read: ``account.*``; ``person.*`` too in
people contexts; ``properties.*`` of an event; a buying group's fields). Operators and the value
each takes come from :data:`itinera.conditions.tree.OPERATORS` and the tables below, which the
schema is built by iterating: an operator the parser learns without an entry here fails the
schema's generation (and its test), so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from itinera.conditions.parse import COUNT_OPS, GROUP_FIELDS
from itinera.conditions.tree import OPERATORS
from itinera.definitions.models import NON_NEGATIVE_DURATION_PATTERN

__all__ = ["CONDITION_DEFINITIONS", "condition_definitions"]

# The definition's name for each scope, as ``definitions.models`` marks condition fields.
CONDITION_DEFINITIONS = {
    "account": "Condition",
    "person": "PersonCondition",
    "event": "EventCondition",
    "group": "BuyingGroupCondition",
}

_SCALAR: dict[str, Any] = {"type": ["string", "number", "boolean"]}
_POSITIVE_DURATION = {"type": "string", "pattern": r"^\+?0*[1-9][0-9]*[smhdw]$",
                      "examples": ["30d", "12h"]}
_INSTANT = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}", "examples": ["2026-03-01T09:00:00Z"]}
# The value each operator takes, as the parser checks it (conditions/parse.py, ``operator``).
_OPERATOR_VALUES: dict[str, dict[str, Any]] = {
    "eq": _SCALAR, "ne": _SCALAR, "contains": _SCALAR,
    "in": {"type": "array", "items": _SCALAR}, "nin": {"type": "array", "items": _SCALAR},
    "gt": {"type": ["number", "string"]}, "gte": {"type": ["number", "string"]},
    "lt": {"type": ["number", "string"]}, "lte": {"type": ["number", "string"]},
    "eq_ci": {"type": "string"}, "contains_ci": {"type": "string"},
    "starts_with": {"type": "string"}, "ends_with": {"type": "string"},
    "exists": {"type": "boolean"},
    "within_next": _POSITIVE_DURATION, "within_last": _POSITIVE_DURATION,
    "older_than": _POSITIVE_DURATION,
    "before": _INSTANT, "after": _INSTANT,
}
# The keys each scope reads besides its names (parse.py, ``key``): all, any, not and
# in_segment everywhere; people, performed and buying_group where the parser allows them.
_COMBINATORS = ("all", "any", "not", "in_segment")
_EXTRA_KEYS = {
    "account": ("people", "performed", "buying_group"),
    "person": ("performed",),
    "event": (),
    "group": (),
}
_NAME_PATTERNS = {
    "account": r"^account\.[^.]+(\.[^.]+)*$",
    "person": r"^(account|person)\.[^.]+(\.[^.]+)*$",
    "event": r"^properties\.[^.]+(\.[^.]+)*$",
}


def _operators() -> dict[str, Any]:
    operators = {op: _OPERATOR_VALUES[op] for op in sorted(OPERATORS)}
    return {
        "description": "a value (meaning eq) or a mapping of operators, all of which must hold",
        "anyOf": [
            _SCALAR,
            {"type": "object", "properties": operators, "additionalProperties": False,
             "minProperties": 1},
        ],
    }


def _count() -> dict[str, Any]:
    return {
        "description": "how many: an integer (exactly) or one comparison; default {gte: 1}",
        "anyOf": [
            {"type": "integer"},
            {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
             "properties": {op: {"type": "integer"} for op in sorted(COUNT_OPS)}},
        ],
    }


def condition_definitions(ref_template: str = "#/$defs/{model}") -> dict[str, Any]:
    """The definitions of every scope's condition (and its helpers), refs by ``ref_template``."""

    def ref(name: str) -> dict[str, Any]:
        return {"$ref": ref_template.format(model=name)}

    def keys(scope: str) -> dict[str, Any]:
        own = ref(CONDITION_DEFINITIONS[scope])
        shared: dict[str, Any] = {
            "all": {"type": "array", "items": own, "minItems": 1},
            "any": {"type": "array", "items": own, "minItems": 1},
            "not": own,
            "in_segment": {"type": "string", "description": "a segment id"},
        }
        extra: dict[str, Any] = {
            "people": {"type": "object", "additionalProperties": False, "properties": {
                "match": ref("PersonCondition"), "count": ref("ConditionCount")}},
            "performed": {"type": "object", "additionalProperties": False, "required": ["event"],
                          "properties": {"event": {"type": "string"},
                                         "where": ref("EventCondition"),
                                         "within_last": {"type": "string",
                                                         "pattern": NON_NEGATIVE_DURATION_PATTERN},
                                         "count": ref("ConditionCount")}},
            "buying_group": {"type": "object", "additionalProperties": False,
                             "required": ["solution"], "properties": {
                                 "solution": {"type": "string"},
                                 "match": ref("BuyingGroupCondition")}},
        }
        properties = {k: shared[k] for k in _COMBINATORS}
        properties.update({k: extra[k] for k in _EXTRA_KEYS[scope]})
        return properties

    definitions: dict[str, Any] = {
        "ConditionOperators": _operators(),
        "ConditionCount": _count(),
    }
    for scope, name in CONDITION_DEFINITIONS.items():
        properties = keys(scope)
        schema: dict[str, Any] = {"type": "object", "minProperties": 1, "properties": properties,
                                  "additionalProperties": False}
        if scope == "group":
            properties.update({f: ref("ConditionOperators") for f in sorted(GROUP_FIELDS)})
        else:
            schema["patternProperties"] = {_NAME_PATTERNS[scope]: ref("ConditionOperators")}
        schema["description"] = {
            "account": "a condition on the account (several keys: all must hold)",
            "person": "a condition on a person (person.*) and their account (account.*)",
            "event": "a condition on an event's properties (properties.*)",
            "group": "a condition on a buying group: engagement_score, completeness_score, status",
        }[scope]
        definitions[name] = schema
    return definitions
