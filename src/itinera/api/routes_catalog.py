"""What the studio's forms offer: the workspace's pick-lists, a condition in words, and the JSON
Schemas of the files it edits.

The catalog lists what the language references — segments, templates, CSMs, roles, playbooks,
role templates, journeys, the node kinds — and what the store has seen: event types and the
account and person fields of recent records (a sample, so the answer stays small and quick).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from itinera.api.auth import READ
from itinera.api.body import ApiRoute
from itinera.api.context import Ctx
from itinera.api.problems import invalid
from itinera.conditions.parse import Scope, parse_condition
from itinera.conditions.words import say
from itinera.definitions.models import NODE_KINDS
from itinera.definitions.schema import SCHEMAS
from itinera.errors import Problem
from itinera.storage import queries
from itinera.storage import schema as t

__all__ = ["router"]

router = APIRouter(route_class=ApiRoute, prefix="/api", tags=["studio"])
SAMPLE = 500  # recent accounts / people whose attribute names are listed
MAX_EVENT_TYPES = 1000
# Fields every account / person has, whatever its attributes (docs/reference/journeys.md).
_ACCOUNT_FIELDS = ("id", "csm", "created_at", "playbooks")
_PERSON_FIELDS = ("id", "email", "score", "unsubscribed", "account")


class Words(BaseModel):
    model_config = ConfigDict(extra="forbid")
    condition: Any = Field(description="A condition as written in a journey or segment.")
    scope: Literal["account", "person", "event", "group"] = "account"


def _fields(connection: sa.Connection, table: sa.Table, builtins: tuple[str, ...]) -> list[str]:
    rows = connection.execute(sa.select(table.c.attributes).order_by(table.c.seq.desc())
                              .limit(SAMPLE))
    seen: dict[str, None] = dict.fromkeys(builtins)
    for (attributes,) in rows:
        if isinstance(attributes, dict):
            seen.update(dict.fromkeys(sorted(attributes)))
    return list(seen)


@router.get("/workspace/catalog", dependencies=READ)
def catalog(context: Ctx) -> dict[str, Any]:
    """Pick-lists for the studio: ``segments``, ``templates`` (id, subject), ``csms`` (id,
    name), ``playbooks``, ``role_templates`` (id, roles), ``roles`` (every role name),
    ``journeys`` (id, name, status), ``node_kinds``, ``event_types`` seen, and the
    ``account_fields`` / ``person_fields`` of recent records (built-in fields first)."""
    with context.read() as connection:
        data = queries.workspace_data(connection)
        journeys = queries.journeys(connection)
        event_types = list(connection.execute(
            sa.select(t.events.c.type).distinct().order_by(t.events.c.type)
            .limit(MAX_EVENT_TYPES)).scalars())
        account_fields = _fields(connection, t.accounts, _ACCOUNT_FIELDS)
        person_fields = _fields(connection, t.people, _PERSON_FIELDS)
    role_templates = [{"id": r.get("id"), "roles": [role.get("name") for role in
                                                     r.get("roles") or []]}
                      for r in data["role_templates"]]
    return {
        "segments": [{"id": s.get("id")} for s in data["segments"]],
        "templates": [{"id": x.get("id"), "subject": x.get("subject")} for x in data["templates"]],
        "csms": [{"id": c.get("id"), "name": c.get("name")} for c in data["csms"]],
        "playbooks": list(data["playbooks"]),
        "role_templates": role_templates,
        "roles": list(dict.fromkeys(n for r in role_templates for n in r["roles"])),
        "journeys": [{"id": j["id"], "name": j["name"], "status": j["status"]} for j in journeys],
        "node_kinds": list(NODE_KINDS),
        "event_types": event_types,
        "account_fields": account_fields,
        "person_fields": person_fields,
    }


@router.post("/conditions/words", dependencies=READ)
def condition_words(body: Words) -> dict[str, str]:
    """A condition in words, as the UI says it (``account plan is pro and ...``); 422 with each
    problem's place (under ``condition``) when it does not parse."""
    problems: list[Problem] = []
    tree = parse_condition(body.condition, "condition", Scope(body.scope), problems)
    if problems:
        raise invalid(problems, "the condition")
    return {"words": say(tree)}


@router.get("/schema/{kind}", dependencies=READ)
def schema(kind: Annotated[Literal["journey", "segment", "template", "scenario", "workspace"],
                           Path()]) -> dict[str, Any]:
    """The JSON Schema of a kind of file (``itinera schema KIND``): for editors' completion."""
    return SCHEMAS[kind]()
