"""``itinera validate`` and ``itinera schema``: check files before anything runs.

``validate`` prints ``ok <file>`` on standard output for each valid file and each problem on
standard error as one plain line, ``<file>: <place>: <problem>`` (a syntax error as
``<file>:<line>: <problem>``), so editors and CI can grep them. Exit status 0 when every file is
valid, 2 when any is not (as ``itinera simulate`` does for an invalid scenario). Under the
workspace's approval workflow (``--workspace`` with ``approval:``), a valid journey file prints
``needs approval <file>: <place>: ...`` lines instead of ``ok``: what must be approved in the
store before it is published or its templates are sent.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from itinera.definitions._shape import plain
from itinera.definitions._workspace_file import check_workspace_document
from itinera.definitions.loader import load_workspace, read_document
from itinera.definitions.scenario import WorkspaceData
from itinera.definitions.schema import SCHEMAS
from itinera.definitions.validate import validate_journey, validate_scenario
from itinera.domain.approval import template_refs
from itinera.errors import DefinitionError, Problem

__all__ = ["register"]

INVALID = 2
# Keys only a scenario has. `start` alone is ambiguous (a journey names its start node), so a
# file with `nodes` is a journey whatever else it holds.
_SCENARIO_KEYS = ("timeline", "data", "start", "journeys", "journey_files", "expect", "until",
                  "workspace")


class SchemaKind(StrEnum):
    journey = "journey"
    scenario = "scenario"
    workspace = "workspace"
    segment = "segment"
    template = "template"


def is_scenario(raw: Any) -> bool:
    """Whether a document is a scenario file rather than a journey file."""
    return isinstance(raw, dict) and "nodes" not in raw and any(k in raw for k in _SCENARIO_KEYS)


def is_workspace(raw: Any) -> bool:
    """Whether a document is a workspace file (segments, templates, CSMs...): no journey or
    scenario key, and at least one of the workspace's."""
    return (isinstance(raw, dict) and "nodes" not in raw and not is_scenario(raw)
            and any(k in WorkspaceData.model_fields for k in raw))


def check_file(path: Path, workspace: WorkspaceData | None) -> list[str]:
    """The problem lines of one file (empty when it is valid)."""
    try:
        raw = plain(read_document(path))
    except DefinitionError as error:
        return [str(p) for p in error.problems]  # already `<file>[:<line>]: ...`
    problems: list[Problem]
    if is_scenario(raw):
        _, problems = validate_scenario(raw, path.parent)
    elif is_workspace(raw):
        _, problems = check_workspace_document(raw)
    else:
        _, problems = validate_journey(raw, "", workspace)
    return [f"{path}: {p}" for p in problems]


def validate(
    files: Annotated[list[Path], typer.Argument(help="Journey or scenario files (YAML or JSON).")],
    workspace: Annotated[
        Path | None,
        typer.Option(help="Workspace data (YAML/JSON, or a scenario whose data to use) to check "
                          "standalone journeys' segments, templates, CSMs, playbooks and roles."),
    ] = None,
) -> None:
    """Check journey and scenario files; list every problem, one per line, with its place.

    A workspace file (segments, templates, CSMs...) is checked as `itinera workspace apply`
    checks it.
    """
    errors = Console(stderr=True, emoji=False, soft_wrap=True, highlight=False)
    data: WorkspaceData | None = None
    if workspace is not None:
        try:
            data = load_workspace(workspace)
        except DefinitionError as error:
            for problem in error.problems:
                line = str(problem)
                errors.print(line if line.startswith(str(workspace)) else f"{workspace}: {line}",
                             markup=False)
            raise typer.Exit(INVALID) from None
    invalid = 0
    for path in files:
        lines = check_file(path, data)
        if lines:
            invalid += 1
            for line in lines:
                errors.print(line, markup=False)
            continue
        reviews = _reviews_needed(path, data, workspace)
        for line in reviews:
            typer.echo(f"needs approval {line}")
        if not reviews:
            typer.echo(f"ok {path}")
    if invalid:
        errors.print(f"{invalid} of {len(files)} file(s) invalid", style="bold red", markup=False)
        raise typer.Exit(INVALID)


def _reviews_needed(path: Path, data: WorkspaceData | None, workspace: Path | None) -> list[str]:
    """Under the workspace's approval workflow, what a valid journey file still needs before
    it is published or sends: its own approved review (``approval.journeys``), and one for
    each template it sends (``approval.templates``). Reviews live in the store, so a file
    check cannot tell whether they exist: it says what is needed instead of "ok"."""
    approval = data.approval if data is not None else None
    if approval is None or not (approval.templates or approval.journeys):
        return []
    raw = plain(read_document(path))
    if not isinstance(raw, dict) or is_scenario(raw) or is_workspace(raw):
        return []
    lines = []
    if approval.journeys:
        lines.append(f"{path}: journey {raw.get('id')!r} needs an approved review before it is "
                     f"published (approval.journeys is on in {workspace})")
    if approval.templates:
        seen: dict[str, str] = {}
        for place, template in template_refs(raw.get("nodes"), "nodes"):
            seen.setdefault(template, place)
        lines.extend(f"{path}: {place}: template {template!r} needs an approved review of its "
                     f"content before it is sent (approval.templates is on in {workspace})"
                     for template, place in seen.items())
    return lines


def schema(
    kind: Annotated[SchemaKind, typer.Argument(help="Which file's schema to print.")]
    = SchemaKind.journey,
) -> None:
    """Print the JSON Schema (draft 2020-12) of journey, scenario or workspace files.

    ``segment`` and ``template``: one entry of a workspace file's list, as the studio edits it."""
    document = SCHEMAS[kind.value]()
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Add the ``validate`` and ``schema`` commands to the main application."""
    app.command("validate")(validate)
    app.command("schema")(schema)
