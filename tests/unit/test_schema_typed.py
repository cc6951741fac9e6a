"""The JSON Schemas are typed: every example passes them, typed mistakes do not, and the
condition language and action arguments in them are the parser's and the validator's own."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from itinera.conditions.parse import COUNT_OPS, GROUP_FIELDS
from itinera.conditions.tree import OPERATORS
from itinera.definitions import (
    journey_schema,
    scenario_schema,
    validate_journey,
    workspace_schema,
)
from itinera.definitions._references import ACTION_KEYS, ALL_ACTIONS
from itinera.definitions.loader import read_document

EXAMPLES = Path(__file__).parents[2] / "examples"
JOURNEY_FILES = sorted(EXAMPLES.glob("*.journey.yaml"))
SCENARIO_FILES = sorted(EXAMPLES.glob("*.scenario.yaml"))


def _errors(instance: Any, schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def test_the_schemas_are_valid_json_schemas() -> None:
    jsonschema.Draft202012Validator.check_schema(journey_schema())
    jsonschema.Draft202012Validator.check_schema(scenario_schema())
    jsonschema.Draft202012Validator.check_schema(workspace_schema())


@pytest.mark.parametrize("path", JOURNEY_FILES, ids=[p.name for p in JOURNEY_FILES])
def test_example_journeys_match_the_journey_schema(path: Path) -> None:
    assert _errors(read_document(path), journey_schema()) == []


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.name for p in SCENARIO_FILES])
def test_example_scenarios_match_the_scenario_schema(path: Path) -> None:
    assert _errors(read_document(path), scenario_schema()) == []


def test_there_are_examples() -> None:
    assert len(JOURNEY_FILES) >= 8 and len(SCENARIO_FILES) >= 8


def _journey(**nodes: Any) -> dict[str, Any]:
    return {"id": "j", "entry": {"segments": ["s"]}, "start": "a",
            "nodes": {"a": {"wait": "1d", "next": "b"}, "b": {"end": True}, **nodes}}


# Each mistake: the node it puts in a journey. Both the schema and `itinera validate` refuse it.
MISTAKES: dict[str, dict[str, Any]] = {
    "unknown operator": {"split": [{"when": {"account.size": {"bigger": 3}}, "next": "b"}]},
    "operator value of the wrong type": {
        "split": [{"when": {"account.size": {"in": "Large"}}, "next": "b"}]},
    "exists takes a boolean": {"split": [{"when": {"account.csm": {"exists": "yes"}}, "next": "b"}]},
    "bad duration in an operator": {
        "split": [{"when": {"account.renewal": {"within_next": "90 days"}}, "next": "b"}]},
    "unknown condition key": {"split": [{"when": {"acount.size": "Large"}, "next": "b"}]},
    "person names in an account condition": {"split": [{"when": {"person.title": "CTO"},
                                                        "next": "b"}]},
    "people is not a person condition": {
        "split_people": [{"when": {"people": {"match": {"person.title": "CTO"}}}, "next": "b"}]},
    "unknown key in performed": {
        "split": [{"when": {"performed": {"event": "x", "within": "3d"}}, "next": "b"}]},
    "count that is not an integer": {
        "split": [{"when": {"performed": {"event": "x", "count": {"gte": "two"}}}, "next": "b"}]},
    "unknown buying group field": {
        "split": [{"when": {"buying_group": {"solution": "X", "match": {"score": 3}}},
                   "next": "b"}]},
    "wrong action field": {"do": [{"send_email": {"tempalte": "welcome"}}], "next": "b"},
    "missing action field": {"do": [{"create_task": {"notes": "call them"}}], "next": "b"},
    "action field of the wrong type": {"do": [{"change_score": {"by": "ten"}}], "next": "b"},
    "unknown strategy": {"do": [{"assign_csm": {"strategy": "random", "pool": ["ann"]}}],
                         "next": "b"},
    "unknown webhook method": {"do": [{"webhook": {"url": "https://x.test", "method": "FETCH"}}],
                               "next": "b"},
    "set writes a person": {"do": [{"set": {"person.title": "CTO"}}], "next": "b"},
    "increase by text": {"do": [{"increase": {"account.visits": "one"}}], "next": "b"},
    "bad task due": {"do": [{"create_task": {"title": "Call", "due": "two days"}}], "next": "b"},
    "bad target": {"do": [{"send_email": {"template": "w", "to": "everyone"}}], "next": "b"},
    "bad wait": {"wait": "3 days", "next": "b"},
    "negative wait": {"wait": "-3d", "next": "b"},
    "bad wait_for timeout": {"wait_for": {"events": ["email.clicked"], "timeout": "soon"},
                             "next": "b"},
    "wait_for condition with an unknown operator": {
        "wait_for": {"condition": {"account.csm": {"is": "ann"}}}, "next": "b"},
    "merge with options": {"merge": {"all": True}, "next": "b"},
    "two kinds in one node": {"wait": "1d", "end": True},
    "experiment variant without next": {"experiment": {"name": "e", "variants": [
        {"name": "treated", "weight": 1, "next": "b"}, {"name": "control", "weight": 1}]}},
}


@pytest.mark.parametrize("name", list(MISTAKES))
def test_typed_mistakes_are_refused_by_the_schema_and_by_validation(name: str) -> None:
    journey = _journey(c=MISTAKES[name])
    journey["nodes"]["a"]["next"] = "c"
    assert _errors(journey, journey_schema()), f"the schema accepts: {name}"
    assert validate_journey(journey, "", None)[1], f"validation accepts: {name}"


def test_the_mistakes_sit_on_a_journey_both_accept() -> None:
    journey = _journey(c={"do": [{"send_email": {"template": "w", "to": {"role": "CTO"}}}],
                          "next": "b"})
    journey["nodes"]["a"]["next"] = "c"
    assert _errors(journey, journey_schema()) == []
    assert validate_journey(journey, "", None)[1] == []


def test_bad_durations_elsewhere_are_refused() -> None:
    scenario = {"start": "2026-01-05T09:00:00Z", "until": "a month",
                "timeline": [{"at": "1 day", "enable": "j"}], "journeys": [_journey()]}
    errors = _errors(scenario, scenario_schema())
    assert any(e.startswith("['until']") for e in errors)
    assert any(e.startswith("['timeline', 0, 'at']") for e in errors)
    entry = _journey()
    entry["entry"]["reenroll"] = {"after": "a month"}
    assert _errors(entry, journey_schema())


def test_every_operator_the_parser_knows_is_in_the_schema() -> None:
    definitions = journey_schema()["$defs"]
    operators = definitions["ConditionOperators"]["anyOf"][1]["properties"]
    assert set(operators) == OPERATORS
    assert set(definitions["ConditionCount"]["anyOf"][1]["properties"]) == COUNT_OPS
    assert set(definitions["BuyingGroupCondition"]["properties"]) >= GROUP_FIELDS


def test_every_action_the_validator_knows_is_typed_in_the_schema() -> None:
    definitions = journey_schema()["$defs"]
    properties = definitions["Action"]["properties"]
    assert set(properties) == set(ALL_ACTIONS)
    for kind, keys in ACTION_KEYS.items():
        target = properties[kind]["$ref"].removeprefix("#/$defs/")
        assert set(definitions[target]["properties"]) == keys, kind
        assert definitions[target]["additionalProperties"] is False


def test_scopes_follow_the_parser() -> None:
    """A person condition reads person.*; an event condition properties.*; each refuses the
    other's names, as the parser does."""
    schema = journey_schema()
    split_people = _journey(c={"split_people": [{"when": {"person.title": {"starts_with": "C"}},
                                                 "next": "b"}]})
    split_people["nodes"]["a"]["next"] = "c"
    assert _errors(split_people, schema) == []
    event = _journey()
    event["entry"] = {"event": {"type": "invoice.overdue",
                                "where": {"properties.amount": {"gt": 100}}}}
    assert _errors(event, schema) == []
    wrong = copy.deepcopy(event)
    wrong["entry"]["event"]["where"] = {"account.size": "Large"}
    assert _errors(wrong, schema)
    assert validate_journey(wrong, "", None)[1]


def test_the_workspace_schema_types_segments_and_delivery_rules() -> None:
    schema = workspace_schema()
    good = {"segments": [{"id": "large", "when": {"account.size": {"in": ["Large"]}}}],
            "frequency_caps": {"email": {"max": 3, "per": "7d"}},
            "quiet_hours": {"email": {"start": "21:00", "end": "08:00", "days": ["sunday"]}}}
    assert _errors(good, schema) == []
    for key, bad in [("segments", [{"id": "large", "when": {"account.size": {"bigger": 3}}}]),
                     ("frequency_caps", {"email": {"max": 3, "per": "a week"}}),
                     ("quiet_hours", {"email": {"start": "21:00", "end": "08:00",
                                                "days": ["someday"]}}),
                     ("templates", [{"id": "w", "subject": "Hi", "body": "typo for text"}])]:
        assert _errors({**good, key: bad}, schema), key
