"""JSON Schemas of journey and scenario files, generated from the pydantic models.

Editors use them to complete and check files as they are typed (for example with a
``# yaml-language-server: $schema=...`` comment). They are typed throughout: conditions with
their operators and the value each takes (generated from the condition parser's tables),
durations, and every action's arguments (``definitions._arguments``). What needs the whole
workspace or graph — references, reachability, loops, template syntax — is checked by
``itinera validate``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial
from typing import Any

from itinera.definitions._arguments import ActionArguments
from itinera.definitions._condition_schema import CONDITION_DEFINITIONS, condition_definitions
from itinera.definitions.models import CONDITION_MARKER, Journey
from itinera.definitions.scenario import Scenario, WorkspaceData

__all__ = [
    "JOURNEY_SCHEMA_ID",
    "SCENARIO_SCHEMA_ID",
    "SCHEMAS",
    "WORKSPACE_SCHEMA_ID",
    "entry_schema",
    "journey_schema",
    "scenario_schema",
    "typed_definitions",
    "workspace_schema",
]

DRAFT = "https://json-schema.org/draft/2020-12/schema"
JOURNEY_SCHEMA_ID = "https://itinera.dev/schemas/journey.schema.json"
SCENARIO_SCHEMA_ID = "https://itinera.dev/schemas/scenario.schema.json"
WORKSPACE_SCHEMA_ID = "https://itinera.dev/schemas/workspace.schema.json"


_REF = "#/$defs/{model}"


def _typed(node: Any, ref_template: str) -> Any:
    """``node`` with every condition marker replaced by a reference to its scope's condition."""
    if isinstance(node, dict):
        scope = node.get(CONDITION_MARKER)
        if isinstance(scope, str):
            return {"$ref": ref_template.format(model=CONDITION_DEFINITIONS[scope])}
        return {k: _typed(v, ref_template) for k, v in node.items()}
    if isinstance(node, list):
        return [_typed(v, ref_template) for v in node]
    return node


def typed_definitions(definitions: dict[str, Any], ref_template: str = _REF) -> dict[str, Any]:
    """Schema definitions generated from the models, made typed: actions' arguments and the
    condition language added (refs by ``ref_template``, e.g. OpenAPI's components)."""
    arguments = ActionArguments.model_json_schema(by_alias=True, ref_template=ref_template)
    out = {**definitions, **arguments.pop("$defs", {})}
    if "Action" in out:
        action = dict(out["Action"])
        action["properties"] = arguments["properties"]
        out["Action"] = action
    out.update(condition_definitions(ref_template))
    typed: dict[str, Any] = _typed(out, ref_template)
    return typed


def _journey_body() -> dict[str, Any]:
    body = Journey.model_json_schema(by_alias=True, ref_template=_REF)
    body["$defs"] = typed_definitions(body.get("$defs", {}))
    typed: dict[str, Any] = _typed(body, _REF)
    return typed


def journey_schema() -> dict[str, Any]:
    """The schema of a journey file (docs/reference/journeys.md)."""
    return {
        "$schema": DRAFT,
        "$id": JOURNEY_SCHEMA_ID,
        **_journey_body(),
        "title": "Itinera journey",
        "description": "An account journey: entry, goal, exit rules and a graph of nodes.",
    }


def scenario_schema() -> dict[str, Any]:
    """The schema of a scenario file (docs/reference/scenarios.md); its journeys use the journey schema.

    The journey's definitions are merged into the scenario's ``$defs`` (no nested ``$id``), so
    every reference resolves within this one document, in any editor.
    """
    body = _typed(Scenario.model_json_schema(by_alias=True, ref_template=_REF), _REF)
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


def workspace_schema() -> dict[str, Any]:
    """The schema of a workspace file (docs/reference/workspace.md)."""
    body = WorkspaceData.model_json_schema(by_alias=True, ref_template=_REF)
    body["$defs"] = {**body.get("$defs", {}), **condition_definitions(_REF)}
    typed: dict[str, Any] = _typed(body, _REF)
    return {
        "$schema": DRAFT,
        "$id": WORKSPACE_SCHEMA_ID,
        **typed,
        "title": "Itinera workspace",
        "description": "What journeys refer to: CSMs, playbooks, campaigns, role templates, "
                       "scoring rules, segments, templates, frequency caps, quiet hours.",
    }


def entry_schema(kind: str) -> dict[str, Any]:
    """The schema of one ``segment`` or ``template`` of a workspace file (a studio draft)."""
    workspace = workspace_schema()
    name = {"segment": "SegmentData", "template": "TemplateData"}[kind]
    return {
        "$schema": DRAFT,
        "$id": f"https://itinera.dev/schemas/{kind}.schema.json",
        **workspace["$defs"][name],
        "$defs": workspace["$defs"],
        "title": f"Itinera {kind}",
    }


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "journey": journey_schema, "scenario": scenario_schema, "workspace": workspace_schema,
    "segment": partial(entry_schema, "segment"), "template": partial(entry_schema, "template")}
"""Each kind's JSON Schema (``itinera schema KIND``, ``GET /api/schema/{kind}``)."""
