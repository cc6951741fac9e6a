"""Accounts: found by id or name, and one account's page — attributes, people, buying groups
with their scores, segments, enrollments, "Why (not)?" for each journey (``runtime.why``: its
entry, re-entry rule and state as of now) and the timeline of what happened and why."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from itinera.analytics import queries as analytics_queries
from itinera.api.context import Ctx
from itinera.api.problems import ApiProblem
from itinera.runtime.why import why_each
from itinera.storage import queries, views
from itinera.web import reads
from itinera.web.auth import UiUser, ui_user
from itinera.web.pages import render
from itinera.web.timeline import account_timeline

__all__ = ["WHY_JOURNEYS", "router"]

router = APIRouter(prefix="/ui/accounts", include_in_schema=False)
User = Annotated[UiUser, Depends(ui_user)]
WHY_JOURNEYS = 50  # journeys an account page answers "Why (not)?" for (each reads the account)


@router.get("")
def accounts_page(request: Request, context: Ctx, user: User, q: str = "",
                  page: Annotated[int, Query(ge=1, le=1_000_000)] = 1) -> Response:
    with context.read() as connection:
        found, at = reads.account_page(connection, q.strip(), page)
        csms = {c.id: c.name or c.id for c in views.csms(connection)}
    return render(request, "accounts.html", user, section="accounts", q=q, accounts=found,
                  at=at, csms=csms, query={"q": q} if q else {})


@router.get("/{account_id}")
def account_page(request: Request, context: Ctx, user: User, account_id: str) -> Response:
    with context.read() as connection:
        view = views.account_view(connection, account_id)
        if view is None:
            raise ApiProblem(404, "not-found", f"no account {account_id!r}")
        events = views.events_of(connection, account_id)
        enrollments = queries.enrollments(connection, account=account_id, limit=1000)
        histories = [(e, queries.history(connection, e["id"])) for e in enrollments]
        definitions: dict[tuple[str, int], dict[str, Any]] = {}
        for journey in {e["journey"] for e in enrollments}:
            for version, definition in analytics_queries.definitions(connection, journey).items():
                definitions[(journey, version)] = definition
        effects = views.effects_of(connection, account_id)
        csm = next((c for c in views.csms(connection) if c.id == view.account.csm), None)
        now = context.service.clock.now()
        whys = why_each(connection, account_id, now, WHY_JOURNEYS)
    timeline = account_timeline(view, events, histories, definitions, effects)
    roles = {m.person: (g.solution, m.role) for g in view.groups for m in g.members}
    return render(request, "account.html", user, section="accounts", view=view, csm=csm,
                  enrollments=enrollments, timeline=timeline, roles=roles, whys=whys)
