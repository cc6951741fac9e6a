"""The journeys list and a journey's page: its graph with live per-node counts, its rules in
words, the lifecycle controls and its report.

Counts, summaries and the report come from ``itinera.analytics.report``; lifecycle commands go
through the same path as ``POST /api/journeys/{id}/{command}?wait=true``: received into the
inbox, then applied before the page is shown again.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from itinera.analytics import queries as analytics_queries
from itinera.analytics.report import JourneyNotFound, journey_report, journey_summary, node_counts
from itinera.api.auth import actor_of
from itinera.api.context import ID_MAX, Ctx
from itinera.api.problems import ApiProblem
from itinera.errors import DefinitionError
from itinera.storage import queries
from itinera.storage.tracking import node_rates
from itinera.web import charts, reads
from itinera.web.auth import CsrfForm, UiUser, ui_user
from itinera.web.graph import ENTRY, layout
from itinera.web.journey_map import journey_graph
from itinera.web.pages import render
from itinera.web.words import entry_brief, entry_words, exit_words, goal_words

__all__ = ["router"]

router = APIRouter(prefix="/ui/journeys", include_in_schema=False)
Version = Annotated[int | None, Query(ge=1, le=ID_MAX)]
User = Annotated[UiUser, Depends(ui_user)]

# Which controls a journey in each status offers.
CONTROLS = {"draft": ["enable"], "enabled": ["pause", "disable"], "paused": ["resume", "disable"],
            "disabled": ["enable"]}
LIFECYCLE = ("enable", "pause", "resume", "disable")


def _rows(connection: sa.Connection) -> list[dict[str, Any]]:
    rows = []
    for journey in queries.journeys(connection):
        try:
            summary = journey_summary(connection, journey["id"])
        except JourneyNotFound:  # published between the two reads: shown next time
            continue
        rows.append({**journey, "summary": summary})
    return rows


@router.get("")
def journeys_page(request: Request, context: Ctx, user: User) -> Response:
    with context.read() as connection:
        rows = _rows(connection)
    return render(request, "journeys.html", user, section="journeys", rows=rows)


@router.get("/rows")
def journeys_rows(request: Request, context: Ctx, user: User) -> Response:
    """The list's rows alone, for the page to refresh itself."""
    with context.read() as connection:
        rows = _rows(connection)
    return render(request, "_journey_rows.html", user, rows=rows)


def _journey(connection: sa.Connection, journey_id: str, version: int | None) -> dict[str, Any]:
    found = queries.journey(connection, journey_id)
    if found is None:
        raise ApiProblem(404, "not-found", f"no journey {journey_id!r}")
    definitions = analytics_queries.definitions(connection, journey_id)
    shown = version if version is not None else (found["version"] or max(definitions))
    if shown not in definitions:
        raise ApiProblem(404, "not-found", f"journey {journey_id!r} has no version {shown}")
    return {**found, "shown": shown, "definition": definitions[shown]}


def _live(connection: sa.Connection, journey: dict[str, Any]) -> dict[str, Any]:
    definition = journey["definition"]
    summary = journey_summary(connection, journey["id"])
    counts = node_counts(connection, journey["id"], journey["shown"])
    nodes, edges = journey_graph(definition, entry_brief(definition.get("entry") or {}))
    # The entry shows how many of this version's enrollments set off from it.
    enrolled = counts[definition["start"]].entered if definition.get("start") in counts else 0
    return {"summary": summary, "counts": counts, "graph": layout(nodes, edges), "entry": ENTRY,
            "entry_count": enrolled,
            "email_rates": node_rates(connection, journey["id"])}  # tracked clicks and opens


@router.get("/{journey_id}")
def journey_page(request: Request, context: Ctx, user: User, journey_id: str,
                 version: Version = None, refused: str | None = None) -> Response:
    with context.read() as connection:
        journey = _journey(connection, journey_id, version)
        live = _live(connection, journey)
        report = journey_report(connection, journey_id, version=journey["shown"])
        recent = reads.recent_enrollments(connection, journey_id)
    definition = journey["definition"]
    rules = {"entry": entry_words(definition.get("entry") or {}),
             "goal": goal_words(definition.get("goal")),
             "exit": exit_words(definition.get("exit"))}
    experiments = [(e, charts.lift_chart(e)) for e in report.experiments]
    return render(request, "journey.html", user, section="journeys", journey=journey, rules=rules,
                  controls=CONTROLS.get(journey["status"], []), report=report,
                  funnel=charts.funnel(report.nodes), days=charts.time_chart(report.days),
                  experiments=experiments, recent=recent, refused=refused, **live)


@router.get("/{journey_id}/live")
def journey_live(request: Request, context: Ctx, user: User, journey_id: str,
                 version: Version = None) -> Response:
    """The summary and the graph with its counts, refreshed by the page every 2 s."""
    with context.read() as connection:
        journey = _journey(connection, journey_id, version)
        live = _live(connection, journey)
    return render(request, "_journey_live.html", user, journey=journey, **live)


@router.post("/{journey_id}/{command}")
def lifecycle(request: Request, context: Ctx, user: CsrfForm, journey_id: str,
              command: str) -> RedirectResponse:
    """Enable, pause, resume or disable, as the REST API does, applied before answering."""
    if command not in LIFECYCLE:
        raise ApiProblem(404, "not-found", f"no command {command!r} (one of {', '.join(LIFECYCLE)})")
    with context.read() as connection:
        known = journey_id in queries.known_journeys(connection)
    if not known:
        raise ApiProblem(404, "not-found", f"no journey {journey_id!r}")
    try:
        context.receive([{command: journey_id}], actor=actor_of(request))
    except DefinitionError as error:  # e.g. a page older than the journey's state
        reason = "; ".join(p.message for p in error.problems)
        return RedirectResponse(f"/ui/journeys/{journey_id}?{urlencode({'refused': reason})}",
                                status_code=303)
    context.drain()
    return RedirectResponse(f"/ui/journeys/{journey_id}", status_code=303)
