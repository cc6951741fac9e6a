"""The journey language and scenario files: models, validation, loading and JSON Schemas.

Read files with :func:`load_scenario` / :func:`load_journey_file` (they raise
:class:`~itinera.errors.DefinitionError` listing every problem); validate data already in memory
with :func:`validate_journey` / :func:`validate_scenario`; parse YAML or JSON text (a request
body) with :func:`parse_document`, which bounds size, depth and aliases as the file readers do.
"""

from itinera.definitions.loader import (
    load_journey_file,
    load_scenario,
    load_workspace,
    parse_document,
    read_document,
)
from itinera.definitions.models import (
    NODE_KINDS,
    Action,
    Branch,
    Entry,
    EntryEvent,
    Exit,
    Experiment,
    Goal,
    Journey,
    Node,
    Variant,
    WaitFor,
    WaitUntil,
)
from itinera.definitions.scenario import (
    Expectation,
    Scenario,
    ScenarioData,
    TimelineEntry,
    WorkspaceData,
)
from itinera.definitions.schema import journey_schema, scenario_schema, workspace_schema
from itinera.definitions.validate import LoadedScenario, validate_journey, validate_scenario

__all__ = [
    "NODE_KINDS",
    "Action",
    "Branch",
    "Entry",
    "EntryEvent",
    "Exit",
    "Expectation",
    "Experiment",
    "Goal",
    "Journey",
    "LoadedScenario",
    "Node",
    "Scenario",
    "ScenarioData",
    "TimelineEntry",
    "Variant",
    "WaitFor",
    "WaitUntil",
    "WorkspaceData",
    "journey_schema",
    "load_journey_file",
    "load_scenario",
    "load_workspace",
    "parse_document",
    "read_document",
    "scenario_schema",
    "validate_journey",
    "validate_scenario",
    "workspace_schema",
]
