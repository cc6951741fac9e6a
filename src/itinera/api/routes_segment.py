"""Segment's HTTP Tracking API at the root of the service: ``POST /v1/batch`` and one message
per call at ``/v1/identify``, ``/v1/group``, ``/v1/track``, ``/v1/page``, ``/v1/screen`` and
``/v1/alias``. Messages that cannot be mapped are kept in ``rejected`` with their reason
(``GET /api/rejected``); the rest are stored in the same transaction. The answer is Segment's
``200 {"success": true}`` once stored; ``X-Itinera-Rejected`` says how many were kept aside.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from itinera.api.auth import require_key
from itinera.api.context import ApiContext, Ctx, Wait
from itinera.api.problems import ApiProblem
from itinera.api.segment import MESSAGE_TYPES, map_messages
from itinera.storage import queries

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["segment"], dependencies=[Depends(require_key)])

_MESSAGE = {"type": "object", "additionalProperties": True,
            "description": "A Segment message (userId, anonymousId, messageId, timestamp, "
                           "context, traits / properties ...)."}
_SUCCESS: dict[int | str, dict[str, Any]] = {200: {"description": "Stored durably",
                  "content": {"application/json": {"example": {"success": True}}}}}


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise ApiProblem(400, "invalid-input", f"the body is not gzip: {error}") from None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiProblem(400, "invalid-input", f"the body is not JSON: {error}") from None


Body = Annotated[Any, Depends(_json_body)]


def _csms(connection: sa.Connection) -> Callable[[str], str | None]:
    """A CSM's id from its id or email (a group's ``csm`` trait); the workspace's CSMs are
    read at the first call only."""
    found: dict[str, str] = {}
    read: list[bool] = []

    def csm(value: str) -> str | None:
        if not read:
            read.append(True)
            for c in queries.workspace_data(connection)["csms"]:
                found[c["id"]] = c["id"]
                if c.get("email"):
                    found.setdefault(c["email"].lower(), c["id"])
        return found.get(value) or found.get(value.lower())

    return csm


def _receive(context: ApiContext, messages: list[Any], kind: str | None,
             defaults: dict[str, Any] | None, wait: bool) -> JSONResponse:
    users = {str(m["userId"]) for m in messages
             if isinstance(m, dict) and isinstance(m.get("userId"), str | int)}
    with context.read() as connection:
        known = queries.known_people(connection, users)
        mapped = map_messages(messages, kind, known.__contains__, defaults,
                              _csms(connection))
    context.receive(mapped.entries, mapped.keys, rejected=mapped.rejected, source="segment")
    if wait:
        context.drain()
    return JSONResponse({"success": True},
                        headers={"X-Itinera-Rejected": str(len(mapped.rejected))})


@router.post("/batch", responses=_SUCCESS, openapi_extra={"requestBody": {
    "required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["batch"],
        "properties": {"batch": {"type": "array", "items": _MESSAGE},
                       "sentAt": {"type": "string", "format": "date-time"},
                       "context": {"type": "object"}}}}}}})
def batch(context: Ctx, body: Body, wait: Wait = False) -> JSONResponse:
    """A batch of messages of any type, as the SDKs send them."""
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        raise ApiProblem(400, "invalid-input", "a batch is {\"batch\": [message, ...]}")
    defaults = body.get("context") if isinstance(body.get("context"), dict) else None
    return _receive(context, body["batch"], None, defaults, wait)


def _single(kind: str) -> None:
    def endpoint(context: Ctx, body: Body, wait: Wait = False) -> JSONResponse:
        return _receive(context, [body], kind, None, wait)

    endpoint.__doc__ = f"One {kind} message."
    router.add_api_route(f"/{kind}", endpoint, methods=["POST"], name=kind, responses=_SUCCESS,
                         openapi_extra={"requestBody": {"required": True, "content": {
                             "application/json": {"schema": _MESSAGE}}}})


for _kind in MESSAGE_TYPES:
    _single(_kind)
