"""What the studio needs of drafts, in one place: the drafts API's own functions
(``api.routes_drafts``, which ``/api/drafts`` serves) called with the UI session's request.

Calling the route functions themselves (not a copy of what they do) keeps the studio's answers,
limits and problems the same as the API's: only the authentication differs (the UI session and
its CSRF token, checked by ``web.routes_studio``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from itinera.api import routes_drafts as drafts_api
from itinera.api.context import ApiContext

__all__ = ["create", "edit", "export", "get", "list_drafts", "put_text"]

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
