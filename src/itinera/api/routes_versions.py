"""A journey's version history over the API: every version with when and by whom, one
version's definition and source text, a diff of two versions, and rollback (an earlier version
published again as the next one, through the same checks and input as any publish).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from itinera.api.auth import PUBLISH, READ, actor_of
from itinera.api.body import ApiRoute
from itinera.api.context import ID_MAX, ApiContext, Ctx, RowId, Wait, accepted
from itinera.api.problems import ApiProblem, invalid
from itinera.api.routes_impact import MoveQuery, MovesMatching, moves_of
from itinera.errors import DefinitionError
from itinera.runtime.versions import diff, rollback_entry
from itinera.storage import audit
from itinera.storage import drafts as store

__all__ = ["router"]

router = APIRouter(route_class=ApiRoute, prefix="/api/journeys", tags=["journeys"])
Version = Annotated[int, Field(ge=1, le=ID_MAX)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such journey/version"}}


class VersionOut(BaseModel):
    version: int
    published_at: str | None
    published_by: str | None


class VersionDetail(VersionOut):
    id: str
    definition: dict[str, Any]
    source: str | None


class Rollback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Version


def _versions(context: ApiContext, journey_id: str) -> list[dict[str, Any]]:
    with context.read() as connection:
        found = store.journey_versions(connection, journey_id)
    if not found:
        raise ApiProblem(404, "not-found", f"no journey {journey_id!r}")
    return found


def _version(context: ApiContext, journey_id: str, version: int) -> dict[str, Any]:
    with context.read() as connection:
        found = store.journey_version(connection, journey_id, version)
    if found is None:
        _versions(context, journey_id)  # 404 naming the journey when it is the journey
        raise ApiProblem(404, "not-found", f"journey {journey_id!r} has no version {version}")
    return found


@router.get("/{journey_id}/versions", dependencies=READ, response_model=list[VersionOut],
            responses=_NOT_FOUND)
def versions(context: Ctx, journey_id: str) -> list[dict[str, Any]]:
    """Every published version, oldest first: when and by whom (``key:ci``, ``user:ana``;
    null for versions published before it was recorded)."""
    return _versions(context, journey_id)


@router.get("/{journey_id}/versions/{version}", dependencies=READ,
            response_model=VersionDetail, responses=_NOT_FOUND)
def version(context: Ctx, journey_id: str, version: RowId) -> dict[str, Any]:
    """One version: its definition and the text it was published from (null if not kept)."""
    return _version(context, journey_id, version)


@router.get("/{journey_id}/diff", dependencies=READ, responses=_NOT_FOUND)
def version_diff(context: Ctx, journey_id: str,
                 from_: Annotated[int | None, Query(alias="from", ge=1, le=ID_MAX)] = None,
                 to: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None) -> dict[str, Any]:
    """What changed from version ``from`` to ``to`` (default: the latest and the one before):
    ``nodes`` added/removed/changed by id, ``rules`` (entry, goal, exit, start, name,
    description) that changed with both sides, and ``yaml``, a unified diff of the texts."""
    if to is None or from_ is None:
        numbers = [v["version"] for v in _versions(context, journey_id)]
        to = numbers[-1] if to is None else to
        earlier = [n for n in numbers if n < to]
        from_ = (earlier[-1] if earlier else to) if from_ is None else from_
    return diff(journey_id, _version(context, journey_id, from_),
                _version(context, journey_id, to))


@router.post("/{journey_id}/rollback", dependencies=PUBLISH, status_code=202,
             responses=_NOT_FOUND | {422: {"description": "That version no longer validates "
                                                        "against the workspace"}})
def rollback(context: Ctx, request: Request, journey_id: str, body: Rollback,
             wait: Wait = False,
             move: MoveQuery = [],  # noqa: B006 (FastAPI copies it per request)
             move_matching: MovesMatching = False) -> JSONResponse:
    """Publish version ``version`` again as the next version (its definition and text), as any
    publish: checked against the workspace now, running enrollments staying on theirs unless
    ``move``/``move_matching`` say otherwise."""
    earlier = _version(context, journey_id, body.version)
    actor = actor_of(request)
    entry = rollback_entry(earlier, actor.label)
    moves = moves_of(move)
    if moves or move_matching:
        entry |= {"moves": moves, "move_matching": move_matching}
    service = context.service
    try:
        with service.intake.engine.begin() as connection:
            audit.record_inputs(connection, actor, [entry])
            audit.record(connection, actor, "rollback", ("journey", journey_id),
                         after={"version": body.version})
            stored = service.submit([entry], "rollback", connection=connection)
    except DefinitionError as error:
        raise invalid(error.problems, f"version {body.version}") from None
    service.wake()
    return accepted(context, stored, wait)
