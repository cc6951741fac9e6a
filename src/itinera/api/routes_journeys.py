"""Journeys over the API: validate, publish versions, enable / pause / resume / disable, and
list them with their status and versions. A journey to validate or publish is JSON, or YAML
with ``Content-Type: application/yaml`` (read as journey files are, with the same problems at
the same places).

Validation checks references against the workspace as stored (its segments, templates, CSMs,
playbooks and role templates, with ``configure`` inputs not yet applied), as
``itinera validate --workspace`` does for files.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from itinera.api.auth import EDIT, PUBLISH, READ, WRITE, actor_of
from itinera.api.body import ApiRoute, document, yaml_text
from itinera.api.context import Ctx, Wait, accepted
from itinera.api.problems import ApiProblem, invalid
from itinera.api.routes_impact import MoveQuery, MovesMatching, moves_of
from itinera.api.schemas import Accepted, JourneyDetail, JourneyOut, ProblemOut, Validation, journey_body
from itinera.errors import Problem
from itinera.runtime.checks import LIFECYCLE, Refs
from itinera.storage import queries, reviews

__all__ = ["router"]

router = APIRouter(route_class=ApiRoute, prefix="/api/journeys", tags=["journeys"])
JourneyBody = Annotated[Any, Depends(document)]  # JSON, or YAML (Content-Type: application/yaml)
SourceText = Annotated[str | None, Depends(yaml_text)]  # kept with the version when YAML
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ProblemOut, "description": "Every problem, each with its place"}}
_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"model": Accepted, "description": "Stored durably; the worker applies it within moments"},
    200: {"model": Accepted, "description": "Stored and applied (?wait=true)"}}


def _check(context: Ctx, journey: Any) -> None:
    problems: list[Problem] = []
    with context.read() as connection:
        journey_id = Refs(connection).check_journey(journey, "", problems)
        if journey_id is not None:  # under the approval workflow: approved, or say its state
            problems.extend(reviews.publish_problems(connection, "journey", journey_id, journey))
    if problems:
        raise invalid(problems, "the journey")


@router.post("/validate", dependencies=EDIT, response_model=Validation, responses=_INVALID,
             openapi_extra=journey_body())
def validate(context: Ctx, journey: JourneyBody) -> dict[str, Any]:
    """Check a journey without publishing it: 200 when it is valid, else 422 listing every
    problem with its place (``nodes.check.split[0].next``)."""
    _check(context, journey)
    return {"valid": True, "errors": []}


@router.post("", dependencies=PUBLISH, status_code=202, responses=_INVALID | _ACCEPTED,
             openapi_extra=journey_body())
def publish(request: Request, context: Ctx, journey: JourneyBody, source: SourceText,
            wait: Wait = False,
            move: MoveQuery = [],  # noqa: B006 (FastAPI copies it per request)
            move_matching: MovesMatching = False) -> JSONResponse:
    """Publish a new version of a journey (new enrollments take it; running ones keep theirs,
    unless ``move``/``move_matching`` move the current version's enrollments waiting at those
    nodes — see ``POST /api/journeys/{id}/impact``). A journey is published as ``draft`` until
    it is enabled."""
    _check(context, journey)
    moves = moves_of(move)
    actor = actor_of(request)
    entry: dict[str, Any] = {"publish": journey, "by": actor.label}
    if source is not None:  # the YAML as written, comments included, for history and diffs
        entry["source"] = source
    if moves or move_matching:
        entry |= {"moves": moves, "move_matching": move_matching}
    return accepted(context, context.receive([entry], actor=actor), wait)


def _command(kind: str) -> None:
    def endpoint(request: Request, context: Ctx, journey_id: str,
                 wait: Wait = False) -> JSONResponse:
        with context.read() as connection:
            known = journey_id in queries.known_journeys(connection)
        if not known:
            raise ApiProblem(404, "not-found", f"no journey {journey_id!r}")
        return accepted(context, context.receive([{kind: journey_id}],
                                                 actor=actor_of(request)), wait)

    endpoint.__doc__ = {
        "enable": "Enable the journey: it enrolls (with `entry.existing`, the accounts already "
                  "in its segments too).",
        "pause": "Pause the journey: no new enrollments, no steps; timers falling due are held.",
        "resume": "Resume a paused journey: held timers run now, in due order.",
        "disable": "Disable the journey: no new enrollments; active ones are unenrolled.",
    }[kind]
    router.add_api_route(f"/{{journey_id}}/{kind}", endpoint, methods=["POST"], name=kind,
                         dependencies=WRITE,
                         status_code=202, responses={404: {"model": ProblemOut}, **_ACCEPTED})


for _kind in LIFECYCLE:
    _command(_kind)


@router.get("", dependencies=READ, response_model=list[JourneyOut])
def list_journeys(context: Ctx) -> list[dict[str, Any]]:
    """Every published journey with its status (draft, enabled, paused, disabled), the
    version new enrollments take and all its versions."""
    with context.read() as connection:
        return queries.journeys(connection)


@router.get("/{journey_id}", dependencies=READ, response_model=JourneyDetail,
            responses={404: {"model": ProblemOut}})
def show_journey(context: Ctx, journey_id: str) -> dict[str, Any]:
    """One journey, with the definition of its current version."""
    with context.read() as connection:
        found = queries.journey(connection, journey_id)
    if found is None:
        raise ApiProblem(404, "not-found", f"no journey {journey_id!r}")
    return found
