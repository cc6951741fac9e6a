"""Read journey, scenario and workspace files into validated models — the one way in.

Every loader raises :class:`~itinera.errors.DefinitionError` listing all the problems of the
file (a syntax error as ``<file>:<line>: ...``; the rest as ``<place>: <problem>`` in the order
validation found them), so a caller can print them and stop.

Text that is not in a file (a request body) goes through :func:`parse_document`, the same
reader with the same limits (:data:`MAX_BYTES`, :data:`MAX_DEPTH`, :data:`MAX_NODES`), then
:func:`~itinera.definitions.validate_journey` or ``validate_scenario``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from itinera.definitions._documents import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_NODES,
    parse_document,
    read_document,
)
from itinera.definitions._references import Known
from itinera.definitions._scenario import check_workspace
from itinera.definitions._shape import describe, plain, shape_problems
from itinera.definitions._workspace_file import Merged, with_workspace_file
from itinera.definitions.models import Journey
from itinera.definitions.scenario import ScenarioData, WorkspaceData
from itinera.definitions.validate import LoadedScenario, validate_journey, validate_scenario
from itinera.errors import DefinitionError, Problem

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "LoadedScenario",
    "load_journey_file",
    "load_scenario",
    "load_workspace",
    "parse_document",
    "read_document",
]


def load_scenario(path: Path) -> LoadedScenario:
    """A scenario file and its journeys (``journey_files`` relative to the file's folder)."""
    path = Path(path)
    loaded, problems = validate_scenario(read_document(path), path.parent)
    if loaded is None:
        raise DefinitionError(problems)
    return loaded


def load_journey_file(path: Path, workspace: WorkspaceData | None = None) -> Journey:
    """One journey file; references to workspace objects are checked when ``workspace`` is given."""
    journey, problems = validate_journey(read_document(Path(path)), "", workspace)
    if journey is None:
        raise DefinitionError(problems)
    return journey


def load_workspace(path: Path) -> WorkspaceData:
    """Workspace data: a mapping of WorkspaceData keys, or a scenario file (its ``data``, after
    the workspace file its ``workspace`` names)."""
    raw = plain(read_document(Path(path)))
    if not isinstance(raw, dict):
        problem = Problem("", f"a workspace is a mapping of keys, got {describe(raw)}")
        raise DefinitionError([problem])
    first: list[Problem] = []  # the workspace file's, placed already
    merged = Merged()
    if "data" in raw or "workspace" in raw:  # a scenario: its data after its workspace file
        raw, merged = with_workspace_file(raw, Path(path).parent, first)
    problems: list[Problem] = []
    data, prefix = (raw["data"], "data") if "data" in raw else (raw, "")
    workspace: WorkspaceData | None = None
    try:
        workspace = (ScenarioData if "data" in raw else WorkspaceData).model_validate(data)
    except ValidationError as error:
        problems += shape_problems(error, data, prefix)
    if isinstance(data, dict):  # every problem at once: the deeper checks read leniently
        check_workspace(data, prefix, Known.from_raw(data), problems)
    if first or problems or workspace is None:
        raise DefinitionError(list(dict.fromkeys([*first, *(merged.relocate(p) for p in problems)])))
    return workspace
