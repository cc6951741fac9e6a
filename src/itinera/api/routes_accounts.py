"""Accounts and people read back: accounts found by id prefix or name and paged, one account
with its people, buying groups, segments and enrollments, its latest events, why it is or is not
in a journey (``runtime.why``), and one person.

Reads show what the worker has applied. A write answered ``202`` may not be visible yet; a
write with ``?wait=true`` answers once applied, so reads after it see it. The reads are
``storage.views``, which the web UI and ``itinera accounts`` share.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from itinera.api.auth import require_scope
from itinera.api.body import ApiRoute
from itinera.api.context import Ctx
from itinera.api.problems import ApiProblem, invalid
from itinera.api.schemas import AccountDetail, AccountPage, EventOut, PersonOut, ProblemOut, WhyOut
from itinera.errors import Problem, StoreError
from itinera.runtime.why import NotFound, why
from itinera.storage import views

__all__ = ["router"]

router = APIRouter(route_class=ApiRoute, prefix="/api", dependencies=[require_scope("read")])
Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
_MISSING: dict[int | str, dict[str, Any]] = {404: {"model": ProblemOut}}


@router.get("/accounts", response_model=AccountPage, tags=["accounts"])
def list_accounts(
    context: Ctx,
    q: Annotated[str, Query(description="Only accounts whose id starts with this, or whose name "
                                        "contains it (any case).")] = "",
    limit: Limit = 100,
    after: Annotated[str | None, Query(description="The id of the account after which the page "
                                                   "starts.")] = None,
) -> dict[str, Any]:
    """Accounts in the order they were added, paged: ``next`` is the ``after`` of the following
    page (null on the last). Only applied inputs are visible (``?wait=true`` on writes)."""
    with context.read() as connection:
        try:
            found = views.find_accounts(connection, q.strip(), limit, after)
        except StoreError as error:
            raise invalid([Problem("?after", str(error))]) from None
    return {"items": [views.account_record(a) for a in found],
            "next": found[-1].id if len(found) == limit else None}


@router.get("/accounts/{account_id}", response_model=AccountDetail, responses=_MISSING,
            tags=["accounts"])
def show_account(context: Ctx, account_id: str) -> dict[str, Any]:
    """One account: attributes, CSM, playbooks, moments, its people (score, unsubscribed), buying
    groups (members with their roles, engagement and completeness scores, status), segments and
    enrollments (the first 1,000; ``/api/enrollments?account=`` pages through them all)."""
    with context.read() as connection:
        found = views.account_document(connection, account_id)
    if found is None:
        raise ApiProblem(404, "not-found", f"no account {account_id!r}")
    return found


@router.get("/accounts/{account_id}/events", response_model=list[EventOut], responses=_MISSING,
            tags=["accounts"])
def account_events(context: Ctx, account_id: str,
                   limit: Annotated[int, Query(ge=1, le=1000, description="How many of the latest "
                                                                          "events.")] = 100,
                   ) -> list[dict[str, Any]]:
    """The latest events of the account and of its people, oldest first."""
    with context.read() as connection:
        if views.account(connection, account_id) is None:
            raise ApiProblem(404, "not-found", f"no account {account_id!r}")
        return views.events_of(connection, account_id, limit)


@router.get("/accounts/{account_id}/explain", response_model=WhyOut, responses=_MISSING,
            response_model_by_alias=True, tags=["accounts"])
def explain_account(context: Ctx, account_id: str,
                    journey: Annotated[str, Query(description="The journey's id.")],
                    ) -> dict[str, Any]:
    """Why (not)?: whether the account is in the journey's entry segment now (each clause with
    the values it read) or sent its entry event, the journey's status, the re-entry rule and the
    account's enrollments in it, the goal and exit criteria while enrolled, and when the answer
    would next change by time alone. 404 for an unknown account or journey."""
    with context.read() as connection:
        try:
            return why(connection, account_id, journey, context.service.clock.now())
        except NotFound as error:
            raise ApiProblem(404, "not-found", str(error)) from None


@router.get("/people/{person_id}", response_model=PersonOut, responses=_MISSING,
            tags=["accounts"])
def show_person(context: Ctx, person_id: str) -> dict[str, Any]:
    """One person, with the id of their account."""
    with context.read() as connection:
        found = views.person(connection, person_id)
    if found is None:
        raise ApiProblem(404, "not-found", f"no person {person_id!r}")
    return views.person_record(found)
