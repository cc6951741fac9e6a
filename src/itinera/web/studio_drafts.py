"""What the studio needs of drafts, in one place: the drafts functions (``/api/drafts``'s) and
the workspace's pick-lists.

TEMPORARY: until the drafts API lands, drafts are kept in memory here, edits are applied to the
parsed document and the text is written again (comments are not kept). Replaced by calls to the
drafts module as soon as it is on main.
"""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import yaml

from itinera.api.context import ApiContext
from itinera.api.problems import ApiProblem
from itinera.definitions import WorkspaceData, parse_document, validate_journey
from itinera.domain.actor import Actor
from itinera.errors import DefinitionError
from itinera.storage import queries
from itinera.storage import schema as t

__all__ = ["catalog", "create", "edit", "get", "list_drafts", "put_text"]

NEW_JOURNEY = """id: new-journey
name: New journey
entry:
  segments: []
start: ''
nodes: {}
"""


def catalog(connection: sa.Connection) -> dict[str, Any]:
    """The names the studio's pick-lists offer: the workspace's objects, the journeys, and the
    account attributes, event types and people attributes seen in the store."""
    data = queries.workspace_data(connection)

    def ids(name: str) -> list[str]:
        return [str(x["id"]) if isinstance(x, dict) else str(x) for x in data.get(name, [])]

    csms = ids("csms")
    roles = sorted({str(r.get("role")) for tpl in data.get("role_templates", []) if isinstance(tpl, dict)
                    for r in tpl.get("roles", []) if isinstance(r, dict) and r.get("role")})
    attributes: set[str] = set()
    for (attrs,) in connection.execute(sa.select(t.accounts.c.attributes).limit(200)):
        if isinstance(attrs, dict):
            attributes.update(attrs)
    people: set[str] = set()
    for (attrs,) in connection.execute(sa.select(t.people.c.attributes).limit(200)):
        if isinstance(attrs, dict):
            people.update(attrs)
    return {
        "segments": ids("segments"), "templates": ids("templates"), "csms": csms,
        "assignees": ["csm", *csms], "playbooks": ids("playbooks"),
        "role_templates": ids("role_templates"), "roles": roles, "campaigns": [],
        "journeys": sorted(queries.known_journeys(connection)),
        "attributes": sorted(attributes), "person_attributes": sorted(people),
        "events": [], "event_properties": [], "solutions": [],
    }


# --- TEMPORARY in-memory drafts (see the module's docstring) ----------------------------------

def _store(context: ApiContext) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] | None = getattr(context.service, "_studio_drafts", None)
    if found is None:
        found = {}
        context.service._studio_drafts = found  # type: ignore[attr-defined]
    return found


_ids = itertools.count(1)


def _problems(context: ApiContext, model: Any) -> list[dict[str, Any]]:
    with context.read() as connection:
        workspace = WorkspaceData.model_validate(queries.workspace_data(connection))
        known = queries.known_journeys(connection)
    _, problems = validate_journey(model, "", workspace, known)
    return [{"place": p.place, "message": p.message, "line": None, "column": None} for p in problems]


def _finish(context: ApiContext, draft: dict[str, Any], text: str, actor: Actor) -> dict[str, Any]:
    try:
        model = parse_document(text, "draft")
    except DefinitionError as error:
        model = None
        problems = [{"place": p.place, "message": p.message, "line": None, "column": None}
                    for p in error.problems]
    else:
        problems = _problems(context, model)
    draft.update(text=text, model=model, problems=problems, revision=draft["revision"] + 1,
                 updated_at=datetime.now(UTC).isoformat(), updated_by=actor.name)
    return copy.deepcopy(draft)


def list_drafts(context: ApiContext, kind: str) -> list[dict[str, Any]]:
    return [copy.deepcopy(d) for d in _store(context).values() if d["kind"] == kind]


def get(context: ApiContext, draft_id: str) -> dict[str, Any]:
    found = _store(context).get(draft_id)
    if found is None:
        raise ApiProblem(404, "not-found", f"no draft {draft_id!r}")
    return copy.deepcopy(found)


def create(context: ApiContext, actor: Actor, kind: str, object_id: str | None,
           source: str) -> dict[str, Any]:
    text = NEW_JOURNEY
    if source == "current" and object_id:
        with context.read() as connection:
            journey = queries.journey(connection, object_id)
        if journey is None:
            raise ApiProblem(404, "not-found", f"no journey {object_id!r}")
        text = yaml.safe_dump(journey["definition"], sort_keys=False)
    draft_id = f"d{next(_ids)}"
    draft = {"id": draft_id, "kind": kind, "object_id": object_id, "revision": 0, "base_version": None}
    _store(context)[draft_id] = draft
    return _finish(context, draft, text, actor)


def put_text(context: ApiContext, actor: Actor, draft_id: str, text: str, revision: int) -> dict[str, Any]:
    draft = _store(context).get(draft_id)
    if draft is None:
        raise ApiProblem(404, "not-found", f"no draft {draft_id!r}")
    if revision != draft["revision"]:
        raise ApiProblem(409, "conflict", "the draft changed since")
    return _finish(context, draft, text, actor)


def _parent(doc: Any, path: list[Any]) -> Any:
    here = doc
    for part in path[:-1]:
        here = here[part]
    return here


def _apply(doc: Any, op: dict[str, Any]) -> Any:
    kind = op["op"]
    if kind == "rename_node":
        nodes = doc["nodes"]
        doc["nodes"] = {(op["to"] if k == op["from"] else k): v for k, v in nodes.items()}
        if doc.get("start") == op["from"]:
            doc["start"] = op["to"]
        for node in doc["nodes"].values():
            for key in ("next", "on_timeout"):
                if node.get(key) == op["from"]:
                    node[key] = op["to"]
            for branches in (node.get("split"), node.get("split_people"),
                             (node.get("experiment") or {}).get("variants")):
                for b in branches or []:
                    for key in ("next", "else"):
                        if b.get(key) == op["from"]:
                            b[key] = op["to"]
        return doc
    path = op["path"]
    if kind == "set":
        if not path:
            return op["value"]
        _parent(doc, path)[path[-1]] = op["value"]
    elif kind == "delete":
        parent = _parent(doc, path)
        del parent[path[-1]]
    elif kind == "insert":
        _parent(doc, [*path, 0]).insert(op["index"], op["value"])
    elif kind == "move":
        items = _parent(doc, [*path, 0])
        items.insert(op["to"], items.pop(op["from"]))
    return doc


def edit(context: ApiContext, actor: Actor, draft_id: str, revision: int,
         edits: list[dict[str, Any]]) -> dict[str, Any]:
    draft = _store(context).get(draft_id)
    if draft is None:
        raise ApiProblem(404, "not-found", f"no draft {draft_id!r}")
    if revision != draft["revision"]:
        raise ApiProblem(409, "conflict", "the draft changed since")
    doc = copy.deepcopy(draft["model"])
    try:
        for op in edits:
            doc = _apply(doc, op)
    except (KeyError, IndexError, TypeError) as error:
        raise ApiProblem(422, "invalid-edit", f"the edit does not apply: {error}") from error
    return _finish(context, draft, yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), actor)
