"""What the studio's drafts mean: their model and problems, where they start, how they publish.

A draft's text is read by the loader (``parse_document``) and checked as ``itinera validate``
checks the same file against the stored workspace — a journey by ``Refs.check_journey``, a
segment or template as one entry of a workspace file's ``segments`` / ``templates`` — so its
problems have the same places and messages; each is placed at its line and column in the text.

Publishing is an input, as ``POST /api/journeys`` and ``itinera journeys publish`` make: a
journey a ``publish`` carrying its text and who published it (``source``, ``by``), a segment or template a
``configure`` carrying just that entry (``configure`` upserts by id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from itinera.definitions._references import Known
from itinera.definitions._scenario import check_workspace
from itinera.definitions._shape import describe, shape_problems
from itinera.definitions.loader import parse_document
from itinera.definitions.roundtrip import Locator, dump_yaml, line_of
from itinera.definitions.scenario import WorkspaceData
from itinera.errors import DefinitionError, Problem
from itinera.runtime.checks import Refs
from itinera.storage import queries
from itinera.storage import schema as t

__all__ = [
    "Examined",
    "current_text",
    "examine",
    "file_name",
    "new_text",
    "object_id_of",
    "publish_entry",
]

_SUFFIX = {"journey": ".journey.yaml", "segment": ".segment.yaml", "template": ".template.yaml"}
_LISTS = {"segment": "segments", "template": "templates"}


def file_name(kind: str, object_id: str | None) -> str:
    """The draft's file name: ``csb-renewal.journey.yaml`` (syntax problems name it)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in (object_id or "draft"))
    return f"{safe.strip('.') or 'draft'}{_SUFFIX[kind]}"


@dataclass(frozen=True)
class Examined:
    """``model``: the text's data as JSON (None when it does not read); ``problems``:
    ``{place, message, line, column}`` each, as ``itinera validate`` says them."""

    model: Any
    problems: list[dict[str, Any]]


def object_id_of(model: Any) -> str | None:
    found = model.get("id") if isinstance(model, dict) else None
    return found if isinstance(found, str) and found else None


def examine(connection: sa.Connection, kind: str, text: str, object_id: str | None) -> Examined:
    """The model and problems of a draft's ``text``, checked against the stored workspace."""
    name = file_name(kind, object_id)
    try:
        model = parse_document(text, name)
    except DefinitionError as error:
        return Examined(None, [_syntax(p, name) for p in error.problems])
    problems: list[Problem] = []
    if kind == "journey":
        Refs(connection).check_journey(model, "", problems)
    else:
        _check_entry(connection, kind, model, problems)
    locator = Locator(text, read=True) if problems else None
    placed = []
    for problem in problems:
        at = locator.find(problem.place) if locator is not None else None
        placed.append({"place": problem.place, "message": problem.message,
                       "line": at[0] if at else None, "column": at[1] if at else None})
    return Examined(model, placed)


def _syntax(problem: Problem, name: str) -> dict[str, Any]:
    return {"place": problem.place, "message": problem.message,
            "line": line_of(problem.place, name), "column": None}


def _check_entry(connection: sa.Connection, kind: str, model: Any, out: list[Problem]) -> None:
    """A segment or template as the one entry of a workspace file's list, its places relative
    to the entry (``when.account.plan``, not ``segments[0].when.account.plan``)."""
    key = _LISTS[kind]
    if not isinstance(model, dict):
        out.append(Problem("", f"a {kind} is a mapping of keys, got {describe(model)}"))
        return
    data = {key: [model]}
    problems: list[Problem] = []
    try:
        WorkspaceData.model_validate(data)
    except ValidationError as error:
        problems += shape_problems(error, data, "")
    stored = queries.workspace_data(connection)
    stored[key] = [item for item in stored.get(key, [])
                   if not (isinstance(item, dict) and item.get("id") == model.get("id"))]
    stored[key].append(model)
    check_workspace(data, "", Known.from_raw(stored), problems)
    prefix = f"{key}[0]"
    for problem in dict.fromkeys(problems):
        place = problem.place
        if place == prefix or place.startswith((f"{prefix}.", f"{prefix}[")):
            place = place[len(prefix):].lstrip(".")
        out.append(Problem(place, problem.message))


def new_text(kind: str, object_id: str | None) -> str:
    """A new draft's text: the smallest document of its kind, for the studio to fill in."""
    name = object_id or f"new-{kind}"
    if kind == "journey":
        return dump_yaml({"id": name, "name": name, "entry": {"segments": []},
                          "start": "start", "nodes": {"start": {"wait": "1d"}}})
    if kind == "segment":
        return dump_yaml({"id": name, "when": {}})
    return dump_yaml({"id": name, "subject": "", "text": ""})


def current_text(connection: sa.Connection, kind: str,
                 object_id: str) -> tuple[str, int | None] | None:
    """The text of what is published as ``object_id`` and, for a journey, the version it is:
    the text it was published from when stored, else its definition written as YAML."""
    if kind == "journey":
        found = queries.journey(connection, object_id)
        if found is None:
            return None
        version = found["version"] or found["versions"][-1]["version"]
        source = connection.execute(sa.select(t.journeys.c.source).where(
            t.journeys.c.id == object_id, t.journeys.c.version == version)).scalar()
        return (source if source is not None else dump_yaml(found["definition"])), version
    row = connection.execute(sa.select(t.config.c.body).where(
        t.config.c.kind == kind, t.config.c.id == object_id)).first()
    if row is None:
        return None
    body = {"id": object_id, "when": row.body} if kind == "segment" \
        else {"id": object_id, **{k: v for k, v in row.body.items() if k != "id"}}
    return dump_yaml(body), None


def publish_entry(kind: str, model: Any, text: str, by: str) -> dict[str, Any]:
    """The input that publishes a draft (already checked: no problems)."""
    if kind == "journey":
        return {"publish": model, "source": text, "by": by}
    return {"configure": {_LISTS[kind]: [model]}}
