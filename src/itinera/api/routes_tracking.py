"""Tracked links and the open pixel of emails, the suppression list, and bounce webhooks.

- ``GET /t/c/{token}``: a tracked link. No API key: the signed token is the authority, and the
  only source of the target (no open redirect). Records the click (``runtime.engagement``) and
  answers ``302`` to the target; an altered or unknown token is ``404`` and redirects nowhere.
- ``GET /t/o/{token}``: the open pixel, a 1×1 GIF (opens are unreliable: mail privacy features
  fetch images for the reader, or block them).
- ``GET /api/suppressions`` (``READ``), ``DELETE /api/suppressions/{address}`` (``WRITE``,
  audited): the addresses no email goes to.
- ``POST /api/webhooks/postmark`` (``BOUNCES``): Postmark's bounce and spam-complaint webhooks,
  authenticated with a key of scope ``bounces`` as HTTP Basic user name (Postmark's webhook
  settings take Basic credentials); never the website's public ingest key, as a webhook
  suppresses addresses.
"""

from __future__ import annotations

import base64
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from itinera.api.auth import BOUNCES, READ, WRITE, actor_of
from itinera.api.body import ApiRoute
from itinera.api.context import ApiContext, Ctx
from itinera.api.problems import ApiProblem
from itinera.channels.tracking import Tracked, verify
from itinera.runtime import bounces, engagement
from itinera.storage import suppressions

__all__ = ["router"]

router = APIRouter(route_class=ApiRoute, tags=["tracking"])
log = logging.getLogger("itinera.tracking")

# The smallest transparent GIF (43 bytes).
_PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}
_UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"description": "The link is not valid"}}
Token = Annotated[str, Path(max_length=8192, description="The signed token of the link.")]
Address = Annotated[str, Path(max_length=320, description="The suppressed email address.")]


def _tracked(request: Request, token: str, kind: str) -> Tracked:
    secret: str | None = getattr(request.app.state, "unsubscribe_secret", None)
    tracked = verify(token, secret) if secret else None
    if tracked is None or tracked.kind != kind:
        raise ApiProblem(404, "unknown-link", "this link is not valid")
    return tracked


def _record(context: ApiContext, tracked: Tracked, request: Request) -> None:
    """Record the hit; a database failure loses it (logged) but never the reader's redirect."""
    try:
        engagement.record(context.service, tracked, request.headers.get("user-agent"))
    except SQLAlchemyError:
        log.exception("could not record a tracked %s of email %d", tracked.kind, tracked.effect)


@router.get("/t/c/{token}", status_code=302, responses=_UNKNOWN, openapi_extra={"security": []})
def click(request: Request, context: Ctx, token: Token) -> RedirectResponse:
    """Record a click of a tracked link, and redirect to its target."""
    tracked = _tracked(request, token, "click")
    if tracked.url is None or not tracked.url.lower().startswith(("http://", "https://")):
        raise ApiProblem(404, "unknown-link", "this link is not valid")  # only ours are signed
    _record(context, tracked, request)
    return RedirectResponse(tracked.url, status_code=302, headers=_NO_STORE)


@router.get("/t/o/{token}", responses=_UNKNOWN, openapi_extra={"security": []})
def opened(request: Request, context: Ctx, token: Token) -> Response:
    """Record an open of an email (its pixel was fetched): a transparent 1×1 GIF."""
    tracked = _tracked(request, token, "open")
    _record(context, tracked, request)
    return Response(_PIXEL, media_type="image/gif", headers=_NO_STORE)


@router.get("/api/suppressions", dependencies=READ)
def list_suppressions(
        context: Ctx,
        q: Annotated[str | None, Query(max_length=320, description="An address prefix.")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        after: Annotated[str | None, Query(max_length=320,
                                           description="The address the page starts after.")]
        = None) -> dict[str, Any]:
    """The suppressed addresses, by address: reason, source, when, and bounces counted."""
    with context.read() as connection:
        items = suppressions.list_suppressions(connection, q=q, limit=limit, after=after)
    return {"items": items, "next": items[-1]["address"] if len(items) == limit else None}


@router.get("/api/suppressions/{address}", dependencies=READ, responses={404: {}})
def show_suppression(context: Ctx, address: Address) -> dict[str, Any]:
    """One suppressed address."""
    with context.read() as connection:
        found = suppressions.suppression(connection, address)
    if found is None:
        raise ApiProblem(404, "not-found", f"{address!r} is not suppressed")
    return found


@router.delete("/api/suppressions/{address}", dependencies=WRITE, responses={404: {}})
def lift_suppression(request: Request, context: Ctx, address: Address) -> dict[str, Any]:
    """Lift a suppression: emails go to the address again (recorded in the audit log)."""
    actor = actor_of(request)
    with context.write() as connection:
        before = bounces.lift(connection, address, actor)
    if before is None:
        raise ApiProblem(404, "not-found", f"{address!r} is not suppressed")
    return {"lifted": before}


@router.post("/api/webhooks/postmark", dependencies=BOUNCES)
def postmark(request: Request, context: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    """A Postmark bounce or spam-complaint webhook (``RecordType`` ``Bounce`` or
    ``SpamComplaint``): hard bounces and complaints suppress the address."""
    try:
        outcome = bounces.from_postmark(body)
    except ValueError as error:
        raise ApiProblem(422, "invalid-webhook", str(error)) from None
    if outcome is None:
        return {"recorded": False}
    with context.write() as connection:
        newly = bounces.receive(connection, outcome, context.service.clock.now())
    return {"recorded": True, "kind": outcome.kind, "suppressed": newly}
