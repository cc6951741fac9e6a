"""What the studio needs of drafts, in one place: the drafts API's own functions
(``api.routes_drafts``, which ``/api/drafts`` serves) called with the UI session's request, and
the workspace's pick-lists for the studio's forms.

Calling the route functions themselves (not a copy of what they do) keeps the studio's answers,
limits and problems the same as the API's: only the authentication differs (the UI session and
its CSRF token, checked by ``web.routes_studio``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import Request
from starlette.responses import Response

from itinera.api import routes_drafts as drafts_api
from itinera.api.context import ApiContext
from itinera.storage import queries
from itinera.storage import schema as t

__all__ = ["catalog", "create", "edit", "export", "get", "list_drafts", "put_text"]

_SEEN = 200  # accounts and people read for the attribute names the forms suggest


def catalog(connection: sa.Connection) -> dict[str, Any]:
    """The names the studio's pick-lists offer: the workspace's objects, the journeys, and the
    account and person attribute names seen in the store (a sample)."""
    data = queries.workspace_data(connection)

    def ids(name: str) -> list[str]:
        return [str(x["id"]) if isinstance(x, dict) else str(x) for x in data.get(name, [])]

    csms = ids("csms")
    roles = sorted({str(r.get("role")) for tpl in data.get("role_templates", []) if isinstance(tpl, dict)
                    for r in tpl.get("roles", []) if isinstance(r, dict) and r.get("role")})
    attributes: set[str] = set()
    for (attrs,) in connection.execute(sa.select(t.accounts.c.attributes).limit(_SEEN)):
        if isinstance(attrs, dict):
            attributes.update(attrs)
    people: set[str] = set()
    for (attrs,) in connection.execute(sa.select(t.people.c.attributes).limit(_SEEN)):
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


def list_drafts(context: ApiContext, kind: str) -> list[dict[str, Any]]:
    return drafts_api.list_drafts(context, kind)  # type: ignore[arg-type]


def get(context: ApiContext, draft_id: str) -> dict[str, Any]:
    return drafts_api.get_draft(context, draft_id)


def create(context: ApiContext, request: Request, kind: str, object_id: str | None,
           source: str) -> dict[str, Any]:
    body = drafts_api.DraftCreate.model_validate({"kind": kind, "object_id": object_id, "from": source})
    return drafts_api.create_draft(context, request, body)


def put_text(context: ApiContext, request: Request, draft_id: str,
             body: drafts_api.DraftText) -> dict[str, Any]:
    return drafts_api.put_draft(context, request, draft_id, body)


def edit(context: ApiContext, request: Request, draft_id: str,
         body: drafts_api.DraftEdits) -> dict[str, Any]:
    return drafts_api.edit_draft(context, request, draft_id, body)


def export(context: ApiContext, draft_id: str) -> Response:
    return drafts_api.export_draft(context, draft_id)
