"""Journey analytics over the API: ``GET /api/journeys/{id}/report`` answers with the report
``itinera report`` prints (``itinera.analytics.report.JourneyReport``) as JSON."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from itinera.analytics.report import JourneyNotFound, JourneyReport, journey_report
from itinera.api.auth import require_scope
from itinera.api.body import ApiRoute
from itinera.api.context import ID_MAX, Ctx
from itinera.api.problems import ApiProblem, invalid
from itinera.api.schemas import ProblemOut
from itinera.errors import Problem

__all__ = ["router"]

router = APIRouter(route_class=ApiRoute, prefix="/api/journeys", tags=["analytics"],
                   dependencies=[require_scope("read")])


@router.get("/{journey_id}/report", response_model=JourneyReport,
            responses={404: {"model": ProblemOut, "description": "No such journey or version"},
                       422: {"model": ProblemOut}})
def report(
    context: Ctx,
    journey_id: str,
    version: Annotated[int | None, Query(
        ge=1, le=ID_MAX, description="Only enrollments of this version.")] = None,
    enrolled_from: Annotated[date | None, Query(
        alias="from", description="Only enrollments from this UTC day (YYYY-MM-DD).")] = None,
    enrolled_to: Annotated[date | None, Query(
        alias="to", description="Only enrollments up to this UTC day, inclusive.")] = None,
) -> JourneyReport:
    """The journey's funnel (per node: entered, waiting now, ended there, dropped), goal
    conversion and median time to goal, per-day series, and for each experiment every
    variant's conversion with its difference from the control (first variant listed), a 95%
    interval for that difference (Newcombe) and a two-sided p-value (chi-square test, or
    Fisher's exact test for small counts). Rates are fractions (0.25 is 25%); an unknown
    value is null."""
    if enrolled_from is not None and enrolled_to is not None and enrolled_from > enrolled_to:
        raise invalid([Problem("from", f"{enrolled_from} is after to ({enrolled_to})")])
    try:
        with context.read() as connection:
            return journey_report(connection, journey_id, version=version,
                                  enrolled_from=enrolled_from, enrolled_to=enrolled_to)
    except JourneyNotFound as error:
        raise ApiProblem(404, "not-found", str(error)) from None
