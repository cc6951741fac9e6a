"""Scenario files kept in the workspace (``studio.scenarios``), which the studio runs against
draft journeys: ``GET /api/scenarios[?journey=]``, ``POST /api/scenarios`` (a scenario's text
and the files it names), ``GET`` and ``DELETE /api/scenarios/{name}``. A scenario is kept only
when it is valid (422 with ``itinera validate``'s problems otherwise)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from itinera.api.auth import EDIT, READ, actor_of
from itinera.api.body import ApiRoute, limit
from itinera.api.context import Ctx
from itinera.api.problems import ApiProblem, invalid
from itinera.api.schemas import ProblemOut
from itinera.studio.scenarios import (
    MAX_BYTES,
    ScenarioProblem,
    add_scenario,
    get_scenario,
    list_scenarios,
    remove_scenario,
)

__all__ = ["router"]

router = APIRouter(route_class=ApiRoute, prefix="/api/scenarios", tags=["studio"])
_MISSING: dict[int | str, dict[str, Any]] = {404: {"model": ProblemOut}}


class ScenarioIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128, description="What to keep it under.")
    text: str = Field(description="The scenario file (YAML or JSON) as written.")
    files: dict[str, str] = Field(default_factory=dict, description="The files it names "
                                  "(`journey_files`, `workspace`) by those names, as text.")


class ScenarioOut(BaseModel):
    name: str
    journeys: list[str] = Field(description="The journeys it runs from its start: the drafts "
                                            "of these ids it tests.")
    files: list[str]
    added_at: str
    added_by: str


class ScenarioDetail(ScenarioOut):
    text: str
    contents: dict[str, str] = Field(description="The files it names, as text.")


@router.get("", dependencies=READ, response_model=list[ScenarioOut])
def list_kept(context: Ctx, journey: str | None = None) -> list[dict[str, Any]]:
    """The kept scenarios by name; ``journey``: those that run it (and so test its drafts)."""
    with context.read() as connection:
        return [s.summary() for s in list_scenarios(connection, journey)]


@router.post("", dependencies=EDIT, status_code=201, response_model=ScenarioOut,
             responses={422: {"model": ProblemOut}}, openapi_extra=limit(MAX_BYTES + 64 * 1024))
def keep(request: Request, context: Ctx, body: Annotated[ScenarioIn, Body()]) -> dict[str, Any]:
    """Keep a scenario with the files it names, replacing one of the same name."""
    try:
        with context.write() as connection:
            kept = add_scenario(connection, body.name, body.text, body.files, actor_of(request),
                                context.now())
    except ScenarioProblem as error:
        raise invalid(error.problems, "the scenario") from None
    return kept.summary()


@router.get("/{name}", dependencies=READ, response_model=ScenarioDetail, responses=_MISSING)
def show(context: Ctx, name: str) -> dict[str, Any]:
    """One kept scenario, with its text and its files."""
    with context.read() as connection:
        kept = get_scenario(connection, name)
    if kept is None:
        raise ApiProblem(404, "not-found", f"no scenario {name!r}")
    return kept.summary() | {"text": kept.text, "contents": kept.files}


@router.delete("/{name}", dependencies=EDIT, status_code=204, responses=_MISSING)
def forget(context: Ctx, name: str) -> Response:
    """Forget a kept scenario."""
    with context.write() as connection:
        if not remove_scenario(connection, name):
            raise ApiProblem(404, "not-found", f"no scenario {name!r}")
    return Response(status_code=204)
