"""The impact preview of publishing a journey over the API: ``POST /api/journeys/{id}/impact``
with the candidate journey (JSON, or YAML as publish takes it) and the proposed moves
(``?move=old=new&move_matching=true``, as ``POST /api/journeys`` takes them) answers every
active enrollment of the journey by version and node and what the publish would do with each
group (docs/reference/journeys.md, "Publishing a new version: in-flight enrollments")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from itinera.api.auth import READ
from itinera.api.body import ApiRoute, document
from itinera.api.context import Ctx
from itinera.api.problems import ApiProblem, invalid
from itinera.api.schemas import ProblemOut, journey_body
from itinera.definitions.models import Journey
from itinera.errors import Problem
from itinera.runtime.checks import Refs
from itinera.runtime.impact import impact, parse_moves

__all__ = ["MoveQuery", "MovesMatching", "moves_of", "router"]

router = APIRouter(route_class=ApiRoute, prefix="/api/journeys", tags=["journeys"])
JourneyBody = Annotated[Any, Depends(document)]
MoveQuery = Annotated[list[str], Query(
    max_length=500, description="A move `OLD=NEW` (repeatable): the enrollments of the "
    "current version waiting at OLD go to the new version at NEW; `OLD=` keeps them.")]
MovesMatching = Annotated[bool, Query(
    description="Also move the enrollments at every node whose id the new version keeps.")]


def moves_of(items: list[str]) -> dict[str, str | None]:
    try:
        return parse_moves(items)
    except ValueError as error:
        raise invalid([Problem("move", str(error))], "the moves") from None


class Span(BaseModel):
    first: str | None
    last: str | None


class ImpactGroupOut(BaseModel):
    version: int
    node: str
    kind: str | None
    state: str
    enrollments: int
    paths: int
    shared: int
    action: str
    to: str | None
    reason: str | None
    entered: Span
    due: Span
    new_due: Span
    due_now: int


class PlaceMessage(BaseModel):
    place: str
    message: str


class ImpactOut(BaseModel):
    journey: str
    current_version: int | None
    next_version: int
    at: str | None
    groups: list[ImpactGroupOut]
    mapped: dict[str, str]
    flagged: dict[str, str]
    problems: list[PlaceMessage]
    totals: dict[str, int]


@router.post("/{journey_id}/impact", dependencies=READ, response_model=ImpactOut,
             responses={422: {"model": ProblemOut, "description": "An invalid candidate"}},
             openapi_extra=journey_body())
def preview_impact(context: Ctx, journey_id: str, journey: JourneyBody,
                   move: MoveQuery = [],  # noqa: B006 (FastAPI copies it per request)
                   move_matching: MovesMatching = False) -> dict[str, Any]:
    """What publishing this journey now would do with its active enrollments: by version and
    node, stay (the default) or move to which node with which new due instants; unmapped
    nodes flagged, the moves' problems listed (the publish would refuse them)."""
    moves = moves_of(move)
    problems: list[Problem] = []
    with context.read() as connection:
        Refs(connection).check_journey(journey, "", problems)
        if problems:
            raise invalid(problems, "the journey")
        candidate = Journey.model_validate(journey)
        if candidate.id != journey_id:
            raise ApiProblem(422, "invalid", f"the journey's id is {candidate.id!r}, not "
                                              f"{journey_id!r}")
        found = impact(connection, candidate, moves, move_matching, context.service.clock.now())
    return found.as_json()
