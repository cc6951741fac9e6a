"""JSON Schemas of journey and scenario files, generated from the pydantic models.

Editors use them to complete and check files as they are typed (for example with a
``# yaml-language-server: $schema=...`` comment). The schemas describe shape only; references,
reachability and the condition language are checked by ``itinera validate``.
"""

from __future__ import annotations

import copy
from typing import Any

from itinera.definitions.models import Journey
from itinera.definitions.scenario import Scenario

__all__ = ["JOURNEY_SCHEMA_ID", "SCENARIO_SCHEMA_ID", "journey_schema", "scenario_schema"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"
JOURNEY_SCHEMA_ID = "https://itinera.dev/schemas/journey.schema.json"
SCENARIO_SCHEMA_ID = "https://itinera.dev/schemas/scenario.schema.json"


def _journey_body() -> dict[str, Any]:
    return Journey.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")


def journey_schema() -> dict[str, Any]:
    """The schema of a journey file (spec/journeys.md)."""
    return {
        "$schema": DRAFT,
        "$id": JOURNEY_SCHEMA_ID,
        **_journey_body(),
        "title": "Itinera journey",
        "description": "An account journey: entry, goal, exit rules and a graph of nodes.",
    }


def scenario_schema() -> dict[str, Any]:
    """The schema of a scenario file (spec/scenarios.md); its journeys use the journey schema.

    The journey's definitions are merged into the scenario's ``$defs`` (no nested ``$id``), so
    every reference resolves within this one document, in any editor.
    """
    body = Scenario.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    journey = _journey_body()
    definitions: dict[str, Any] = body.setdefault("$defs", {})
    definitions.update(journey.pop("$defs", {}))
    definitions["Journey"] = journey
    reference = {"$ref": "#/$defs/Journey"}
    body["properties"]["journeys"]["items"] = dict(reference)
    publish = definitions["TimelineEntry"]["properties"]["publish"]
    publish.pop("anyOf", None)
    publish["anyOf"] = [dict(reference), {"type": "null"}]
    return {
        "$schema": DRAFT,
        "$id": SCENARIO_SCHEMA_ID,
        **copy.deepcopy(body),
        "title": "Itinera scenario",
        "description": "A small world (data), journeys and a timeline, run on a virtual clock.",
    }
