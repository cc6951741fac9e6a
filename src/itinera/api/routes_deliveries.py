"""Deliveries: every effect in the outbox with its delivery state — the dead letters among them
(``?status=dead``, with their last error) — and a dead one sent back for another round.

Lists are paged by id like the other lists (``limit`` after ``after``; ``next``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from itinera.api.auth import READ, WRITE
from itinera.api.body import ApiRoute
from itinera.api.context import After, Ctx, RowId
from itinera.api.problems import ApiProblem
from itinera.api.schemas import DeliveryDetail, DeliveryPage, ProblemOut
from itinera.storage import outbox

__all__ = ["router"]

router = APIRouter(route_class=ApiRoute, prefix="/api/deliveries", tags=["deliveries"])
Status = Literal["pending", "sending", "delivered", "skipped", "dead", "sent", "completed"]
Channel = Literal["email", "webhook", "task", "campaign"]
_MISSING: dict[int | str, dict[str, Any]] = {404: {"model": ProblemOut}}


@router.get("", dependencies=READ, response_model=DeliveryPage)
def list_deliveries(
    context: Ctx, status: Status | None = None, channel: Channel | None = None,
    account: str | None = None, journey: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Items per page.")] = 100,
    after: After = None,
) -> dict[str, Any]:
    """Effects and their delivery state, filtered by status, channel, account and journey."""
    with context.read() as connection:
        items = outbox.deliveries(connection, status=status, channel=channel, account=account,
                                  journey=journey, limit=limit, after=after)
    return {"items": items, "next": items[-1]["id"] if len(items) == limit else None}


@router.get("/{delivery_id}", dependencies=READ, response_model=DeliveryDetail, responses=_MISSING)
def show_delivery(context: Ctx, delivery_id: RowId) -> dict[str, Any]:
    """One effect with its whole payload: an email's subject and text, a webhook's body."""
    with context.read() as connection:
        found = outbox.delivery(connection, delivery_id)
    if found is None:
        raise ApiProblem(404, "not-found", f"no delivery {delivery_id}")
    return found


@router.post("/{delivery_id}/retry", dependencies=WRITE, response_model=DeliveryDetail,
             responses={**_MISSING, 409: {"model": ProblemOut}})
def retry_delivery(context: Ctx, delivery_id: RowId) -> dict[str, Any]:
    """Send a dead delivery back to pending, due now, with a fresh count of attempts."""
    with context.write() as connection:
        retried = outbox.retry(connection, delivery_id, context.service.clock.now())
        found = retried or outbox.delivery(connection, delivery_id)
    if found is None:
        raise ApiProblem(404, "not-found", f"no delivery {delivery_id}")
    if retried is None:
        raise ApiProblem(409, "not-dead",
                         f"delivery {delivery_id} is {found['status']}, not dead: nothing to retry")
    return retried
