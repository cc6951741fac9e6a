"""Every example in docs/reference is checked, so the language reference cannot drift from the code.

Each ```yaml block carries a tag (docs/reference/README.md): journeys and node mappings must
validate and match the JSON Schema, conditions parse, workspaces apply, scenarios run with
their `expect` holding, and invalid journeys are refused. A yaml block without a known tag fails,
so an example cannot slip in unchecked.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from itinera.conditions.parse import parse_condition
from itinera.definitions import (
    journey_schema,
    scenario_schema,
    validate_journey,
    workspace_schema,
)
from itinera.definitions.loader import load_workspace, read_document
from itinera.definitions.validate import validate_scenario
from itinera.errors import Problem
from itinera.simulate import check_expectations, simulate

REFERENCE = Path(__file__).parents[2] / "docs" / "reference"
_BLOCK = re.compile(r"^```yaml(?P<tag>[^\n]*)\n(?P<body>.*?)^```$", re.M | re.S)
TAGS = ("journey", "nodes", "condition", "workspace", "scenario", "invalid-journey", "text")


def _blocks() -> list[tuple[str, str, str]]:
    found = []
    for page in sorted(REFERENCE.glob("*.md")):
        text = page.read_text()
        for match in _BLOCK.finditer(text):
            line = text[:match.start()].count("\n") + 1
            found.append((f"{page.name}:{line}", match["tag"].strip(), match["body"]))
    return found


BLOCKS = _blocks()


def _of(tag: str) -> list[tuple[str, str, str]]:
    return [b for b in BLOCKS if b[1] == tag]


def _read(body: str, tmp_path: Path) -> Any:
    path = tmp_path / "example.yaml"
    path.write_text(body)
    return read_document(path)  # the loader's own reading: dates stay text, no duplicate keys


def _schema_errors(instance: Any, schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def test_every_yaml_block_is_tagged_and_each_tag_is_used() -> None:
    untagged = [place for place, tag, _ in BLOCKS if tag not in TAGS]
    assert untagged == [], f"tag these blocks with one of {TAGS}"
    for tag in ("journey", "nodes", "condition", "workspace", "scenario", "invalid-journey"):
        assert _of(tag), f"no '{tag}' example"


@pytest.mark.parametrize(("place", "tag", "body"), _of("journey"), ids=[b[0] for b in _of("journey")])
def test_journey_examples_validate(place: str, tag: str, body: str, tmp_path: Path) -> None:
    raw = _read(body, tmp_path)
    assert validate_journey(raw, "", None)[1] == []
    assert _schema_errors(raw, journey_schema()) == []


@pytest.mark.parametrize(("place", "tag", "body"), _of("nodes"), ids=[b[0] for b in _of("nodes")])
def test_node_examples_validate(place: str, tag: str, body: str, tmp_path: Path) -> None:
    nodes = _read(body, tmp_path)
    raw = {"id": "example", "entry": {"segments": ["s"]}, "start": next(iter(nodes)),
           "nodes": nodes}
    assert validate_journey(raw, "", None)[1] == []
    assert _schema_errors(raw, journey_schema()) == []


@pytest.mark.parametrize(("place", "tag", "body"), _of("condition"),
                         ids=[b[0] for b in _of("condition")])
def test_condition_examples_parse(place: str, tag: str, body: str, tmp_path: Path) -> None:
    problems: list[Problem] = []
    parse_condition(_read(body, tmp_path), "", problems=problems)
    assert problems == []


@pytest.mark.parametrize(("place", "tag", "body"), _of("workspace"),
                         ids=[b[0] for b in _of("workspace")])
def test_workspace_examples_apply(place: str, tag: str, body: str, tmp_path: Path) -> None:
    path = tmp_path / "workspace.yaml"
    path.write_text(body)
    load_workspace(path)  # raises DefinitionError with every problem
    assert _schema_errors(read_document(path), workspace_schema()) == []


@pytest.mark.parametrize(("place", "tag", "body"), _of("scenario"),
                         ids=[b[0] for b in _of("scenario")])
def test_scenario_examples_run_and_their_expectations_hold(place: str, tag: str, body: str,
                                                           tmp_path: Path) -> None:
    raw = _read(body, tmp_path)
    assert raw.get("expect"), "a scenario example shows what it does: give it an expect block"
    assert _schema_errors(raw, scenario_schema()) == []
    loaded, problems = validate_scenario(raw, tmp_path)
    assert problems == [] and loaded is not None
    simulation = simulate(loaded)
    try:
        assert check_expectations(simulation.result(), loaded.scenario.expect) == []
    finally:
        simulation.store.close()


@pytest.mark.parametrize(("place", "tag", "body"), _of("invalid-journey"),
                         ids=[b[0] for b in _of("invalid-journey")])
def test_invalid_journey_examples_are_refused(place: str, tag: str, body: str,
                                              tmp_path: Path) -> None:
    raw = _read(body, tmp_path)
    assert validate_journey(raw, "", None)[1]
    assert _schema_errors(raw, journey_schema())
