"""Reading files (YAML/JSON, dates kept as text, syntax error places) and the JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from conformance import CASES, scenarios
from itinera.definitions import (
    WorkspaceData,
    journey_schema,
    load_journey_file,
    load_scenario,
    read_document,
    scenario_schema,
)
from itinera.errors import DefinitionError

SCENARIOS = scenarios()
JOURNEY = "id: j\nentry: {segments: [s]}\nstart: a\nnodes:\n  a: {end: true}\n"


def test_yaml_dates_stay_strings(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("start: 2026-01-05T09:00:00Z\nday: 2026-01-05\nn: 3\nok: true\n")
    assert read_document(path) == {"start": "2026-01-05T09:00:00Z", "day": "2026-01-05",
                                   "n": 3, "ok": True}


def test_load_scenario_keeps_instants_as_written() -> None:
    loaded = load_scenario(CASES / "02-goal-continue-renewal.yaml")
    assert loaded.scenario.start == "2026-01-05T09:00:00Z"
    assert loaded.scenario.data.accounts[0].attributes["renewal_date"] == "2026-03-06T09:00:00Z"
    assert [j.id for j in loaded.journeys] == ["renewal-prep"]


def test_json_files_work(tmp_path: Path) -> None:
    raw = read_document(CASES / "01-round-robin-csm.yaml")
    path = tmp_path / "case.json"
    path.write_text(json.dumps(raw))
    assert load_scenario(path).journeys[0].id == "assign-csm"


@pytest.mark.parametrize(("name", "text", "place"), [
    ("bad.yaml", "id: j\nnodes:\n  a: {end: true\n", "bad.yaml:4"),
    ("bad.json", '{\n  "id": "j",\n  "nodes": \n}\n', "bad.json:4"),
])
def test_syntax_errors_name_file_and_line(tmp_path: Path, name: str, text: str, place: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(DefinitionError) as caught:
        read_document(tmp_path / name)
    assert len(caught.value.problems) == 1
    assert str(caught.value).startswith(f"{tmp_path / place}: ")


def test_duplicate_keys_are_refused_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "j.yaml"
    path.write_text(JOURNEY + "  a: {wait: 1d}\n")
    with pytest.raises(DefinitionError) as caught:
        read_document(path)
    assert str(caught.value) == f"{path}:6: duplicate key 'a'"


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="cannot read"):
        read_document(tmp_path / "missing.yaml")


def test_load_journey_file(tmp_path: Path) -> None:
    path = tmp_path / "j.yaml"
    path.write_text(JOURNEY)
    assert load_journey_file(path).start == "a"
    workspace = WorkspaceData.model_validate({"segments": [{"id": "t", "when": {"account.x": 1}}]})
    with pytest.raises(DefinitionError) as caught:
        load_journey_file(path, workspace)
    assert [str(p) for p in caught.value.problems] == ["entry.segments[0]: no segment 's'"]


def test_load_scenario_lists_every_problem() -> None:
    with pytest.raises(DefinitionError) as caught:
        load_scenario(CASES / "08-invalid-journey.yaml")
    assert len(caught.value.problems) == 5
    assert "journeys[0].nodes.check.split[0].next: no node 'dne'" in str(caught.value).splitlines()


# --- JSON Schema -------------------------------------------------------------------------------

def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


@pytest.mark.parametrize("make", [journey_schema, scenario_schema])
def test_schema_structure(make: Any) -> None:
    schema = make()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("https://") and schema["title"] and schema["description"]
    assert schema["type"] == "object"
    json.dumps(schema)  # serialisable as is
    for ref in _refs(schema):  # every reference resolves inside the document
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in schema["$defs"]


def test_journey_schema_describes_nodes_and_scenario_reuses_it() -> None:
    journey = journey_schema()
    assert set(journey["required"]) >= {"id", "entry", "start", "nodes"}
    node = journey["$defs"]["Node"]
    assert {"do", "split", "wait_for", "experiment"} <= set(node["properties"])
    assert node["additionalProperties"] is False
    assert {"else", "when", "next"} <= set(journey["$defs"]["Branch"]["properties"])
    scenario = scenario_schema()
    assert scenario["properties"]["journeys"]["items"] == {"$ref": "#/$defs/Journey"}
    assert scenario["$defs"]["Journey"]["properties"] == journey["properties"]


def _expects_invalid(path: Path) -> bool:
    expect = path.with_name(path.stem + ".expect.yaml")
    return expect.exists() and read_document(expect).get("exit_code") == 2


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_conformance_cases_match_the_scenario_schema(path: Path) -> None:
    schema = scenario_schema()
    instance = read_document(path)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(instance))
    if _expects_invalid(path):  # the typed schema finds the bad duration `itinera validate` does
        assert any("3 days" in error.message for error in errors)
    else:
        assert errors == []


def test_the_scenario_schema_refuses_a_bad_file() -> None:
    schema = scenario_schema()
    instance = read_document(CASES / "01-round-robin-csm.yaml")
    instance["journeys"][0]["nodes"]["assign"]["colour"] = "red"
    instance["journeys"][0]["nodes"]["kickoff"] = {}
    places = {tuple(e.absolute_path) for e in
              jsonschema.Draft202012Validator(schema).iter_errors(instance)}
    assert ("journeys", 0, "nodes", "assign") in places
    assert ("journeys", 0, "nodes", "kickoff") in places
