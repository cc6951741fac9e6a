"""Segment's HTTP Tracking API at the root of the service: ``POST /v1/batch`` and one message
per call at ``/v1/identify``, ``/v1/group``, ``/v1/track``, ``/v1/page``, ``/v1/screen`` and
``/v1/alias``. Messages that cannot be mapped (a value no store holds, a malformed timestamp,
over 32 KB...) are kept in ``rejected`` with their reason (``GET /api/rejected``); the rest are
stored, :data:`~itinera.api.context.CHUNK` inputs per transaction. The answer is Segment's
``200 {"success": true}`` once all is stored; ``X-Itinera-Rejected`` says how many were kept
aside. Limits, as Segment's: a batch of at most 500 KB and 2,500 messages, a message of at
most 32 KB (413 beyond; docs/runtime.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from itinera.api.auth import require_scope
from itinera.api.body import MessageRoute, limit
from itinera.api.context import ApiContext, Ctx, Wait
from itinera.api.problems import ApiProblem, invalid
from itinera.api.segment import MESSAGE_TYPES, map_messages
from itinera.jsonvalues import text_problem, value_problems
from itinera.storage import queries

__all__ = ["BATCH_BYTES", "MAX_MESSAGES", "MESSAGE_BYTES", "router"]

BATCH_BYTES = 500 * 1024
MESSAGE_BYTES = 32 * 1024
MAX_MESSAGES = 2_500
router = APIRouter(prefix="/v1", tags=["segment"], dependencies=[require_scope("ingest")],
                   route_class=MessageRoute)

_MESSAGE = {"type": "object", "additionalProperties": True,
            "description": "A Segment message (userId, anonymousId, messageId, timestamp, "
                           "context, traits / properties ...)."}
_SUCCESS: dict[int | str, dict[str, Any]] = {200: {"description": "Stored durably",
                  "content": {"application/json": {"example": {"success": True}}}}}


async def _json_body(request: Request) -> Any:
    return await request.json()  # decompressed and parsed by MessageRoute, within its bounds


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


def _unfit(message: Any) -> str | None:
    """Why a message cannot be taken whatever its type, or None."""
    problems = value_problems(message)
    if problems:
        return "; ".join(str(p) for p in problems[:5])
    if len(orjson.dumps(message)) > MESSAGE_BYTES:
        return f"a message is at most {MESSAGE_BYTES} bytes"
    return None


def _rejected_key(message: Any) -> str | None:
    """The idempotency key of a message kept aside: its messageId, when it has a usable one."""
    message_id = message.get("messageId") if isinstance(message, dict) else None
    if isinstance(message_id, bool) or not isinstance(message_id, str | int):
        return None
    text = str(message_id)
    return f"rejected:segment:{text}" if text and text_problem(text) is None else None


def _receive(context: ApiContext, messages: list[Any], kind: str | None,
             defaults: dict[str, Any] | None, wait: bool) -> JSONResponse:
    if len(messages) > MAX_MESSAGES:
        raise ApiProblem(413, "too-large", f"a batch is at most {MAX_MESSAGES} messages, this "
                                           f"one has {len(messages)} (docs/runtime.md, Limits)")
    unfit: list[tuple[str, Any]] = []
    fit: list[Any] = []
    for message in messages:
        reason = _unfit(message)
        if reason is None:
            fit.append(message)
        else:
            unfit.append((reason, message))
    users = {str(m["userId"]) for m in fit
             if isinstance(m, dict) and isinstance(m.get("userId"), str | int)}
    with context.read() as connection:
        known = queries.known_people(connection, users)
        mapped = map_messages(fit, kind, known.__contains__, defaults, _csms(connection))
    rejected = unfit + mapped.rejected
    context.receive_in_chunks(mapped.entries, mapped.keys, rejected,
                              [_rejected_key(message) for _, message in rejected], "segment")
    if wait:
        context.drain()
    return JSONResponse({"success": True}, headers={"X-Itinera-Rejected": str(len(rejected))})


@router.post("/batch", responses=_SUCCESS, openapi_extra=limit(BATCH_BYTES, {"requestBody": {
    "required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["batch"],
        "properties": {"batch": {"type": "array", "items": _MESSAGE, "maxItems": MAX_MESSAGES},
                       "sentAt": {"type": "string", "format": "date-time"},
                       "context": {"type": "object"}}}}}}}))
def batch(context: Ctx, body: Body, wait: Wait = False) -> JSONResponse:
    """A batch of messages of any type, as the SDKs send them."""
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        raise ApiProblem(400, "invalid-input", "a batch is {\"batch\": [message, ...]}")
    defaults = body.get("context") if isinstance(body.get("context"), dict) else None
    if defaults is not None and (problems := value_problems(defaults, "context")):
        raise invalid(problems)  # the context of every message
    return _receive(context, body["batch"], None, defaults, wait)


def _single(kind: str) -> None:
    def endpoint(context: Ctx, body: Body, wait: Wait = False) -> JSONResponse:
        return _receive(context, [body], kind, None, wait)

    endpoint.__doc__ = f"One {kind} message."
    router.add_api_route(f"/{kind}", endpoint, methods=["POST"], name=kind, responses=_SUCCESS,
                         openapi_extra=limit(MESSAGE_BYTES, {"requestBody": {
                             "required": True,
                             "content": {"application/json": {"schema": _MESSAGE}}}}))


for _kind in MESSAGE_TYPES:
    _single(_kind)
