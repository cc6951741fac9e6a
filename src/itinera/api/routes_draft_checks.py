"""A draft tried before it is published (the studio's "Test" panel and the API):
``/api/drafts/{id}/checks/scenarios`` runs the kept scenarios that exercise a journey draft
with the draft in place of its journey; ``/api/drafts/{id}/checks/backtest`` replays the last
days of recorded history through it; ``/api/drafts/{id}/checks/segment`` previews a segment
draft's count and sample. Runs happen in a child process (``studio.runs``), off the event loop,
with a time limit; a history too large for the studio is refused with a message saying so.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from itinera.api.auth import EDIT, READ
from itinera.api.body import ApiRoute
from itinera.api.context import ApiContext, Ctx
from itinera.api.problems import ApiProblem
from itinera.api.routes_checks import SegmentPreviewOut, segment_preview_json
from itinera.api.schemas import ProblemOut
from itinera.errors import Problem
from itinera.studio.draft_backtest import MAX_DAYS, MAX_INPUTS, backtest_draft, journal_size
from itinera.studio.drafts_port import draft_json
from itinera.studio.runs import RunRefused, Runs
from itinera.studio.scenarios import list_scenarios, run_against

__all__ = ["BACKTEST_SECONDS", "MAX_RUN", "SCENARIO_SECONDS", "backtest_json", "router",
           "runs_of", "scenarios_json"]

router = APIRouter(route_class=ApiRoute, prefix="/api/drafts/{draft_id}/checks", tags=["studio"])
SCENARIO_SECONDS = 120.0  # one run of the scenarios of a draft, all of them
BACKTEST_SECONDS = 180.0
MAX_RUN = 20  # scenarios run at once
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ProblemOut} for code in (404, 409, 422, 429, 504)}


class ScenariosIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    names: list[str] | None = Field(default=None, max_length=MAX_RUN, description="The kept "
                                    "scenarios to run (default: every one that exercises it).")


class BacktestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(default=14, ge=1, le=MAX_DAYS, description="The draft is enabled this "
                      "many days before now; the history up to now is replayed.")
    with_live_journeys: bool = Field(default=False, description="Run the live journeys too.")


def runs_of(request: Request) -> Runs:
    """The service's checks (made with the app, ``create_app``)."""
    runs: Runs = request.app.state.studio_runs
    return runs


def _journey_draft(context: ApiContext, draft_id: str) -> dict[str, Any]:
    draft = draft_json(context, draft_id)
    if draft["kind"] != "journey":
        raise ApiProblem(409, "conflict", f"draft {draft_id!r} is a {draft['kind']}, not a journey")
    if not isinstance(draft.get("model"), dict) or not isinstance(draft["model"].get("id"), str):
        raise ApiProblem(422, "invalid-input", "the draft does not read as a journey: fix its "
                                               "problems first",
                         [Problem(p.get("place", ""), p.get("message", ""))
                          for p in draft.get("problems") or []])
    return draft


def _refused(error: RunRefused) -> ApiProblem:
    kinds = {429: "too-many-requests", 504: "too-slow", 500: "failed"}
    return ApiProblem(error.status, kinds.get(error.status, "failed"), str(error))


def scenarios_json(context: ApiContext, runs: Runs, draft_id: str,
                   names: list[str] | None = None) -> dict[str, Any]:
    """Each kept scenario that exercises the journey draft (or those ``names``), run with the
    draft in place of its journey."""
    draft = _journey_draft(context, draft_id)
    journey = draft["model"]["id"]
    with context.read() as connection:
        kept = list_scenarios(connection, None if names else journey)
    if names:
        missing = [n for n in names if n not in {s.name for s in kept}]
        if missing:
            raise ApiProblem(404, "not-found", f"no scenario {missing[0]!r}")
        kept = [s for s in kept if s.name in names]
    if len(kept) > MAX_RUN:
        raise ApiProblem(422, "invalid-input", f"{len(kept)} scenarios exercise {journey!r}; "
                                               f"name at most {MAX_RUN} to run")
    bundles = [(s.name, s.text, s.files) for s in kept]
    try:
        results = runs.run(_run_all, bundles, journey, draft["model"], seconds=SCENARIO_SECONDS) \
            if bundles else []
    except RunRefused as error:
        raise _refused(error) from None
    return {"draft": draft_id, "revision": draft.get("revision"), "journey": journey,
            "runs": results, "ok": all(r["ok"] for r in results)}


def _run_all(bundles: list[tuple[str, str, dict[str, str]]], journey: str,
             model: dict[str, Any]) -> list[dict[str, Any]]:
    """In the check's process: every scenario in turn."""
    return [run_against(name, text, files, journey, model) for name, text, files in bundles]


def backtest_json(context: ApiContext, runs: Runs, draft_id: str, days: int = 14,
                  with_live_journeys: bool = False) -> dict[str, Any]:
    """The backtest of the journey draft over the last ``days`` (enabled ``days`` before now,
    the history up to now replayed)."""
    draft = _journey_draft(context, draft_id)
    until = context.service.clock.now()
    since = until - timedelta(days=days)
    with context.read() as connection:
        size = journal_size(connection, until)
    if size > MAX_INPUTS:
        raise ApiProblem(422, "invalid-input", f"the recorded history holds {size:,} inputs; the "
                         f"studio replays at most {MAX_INPUTS:,}: run `itinera backtest` instead")
    url = context.service.intake.engine.url.render_as_string(hide_password=False)
    try:
        result = runs.run(backtest_draft, url, draft["model"], since, until, with_live_journeys,
                          seconds=BACKTEST_SECONDS)
    except RunRefused as error:
        raise _refused(error) from None
    return {"draft": draft_id, "revision": draft.get("revision"),
            "journey": draft["model"]["id"], "days": days, **result}


@router.get("/scenarios", dependencies=READ)
def scenarios_of(context: Ctx, draft_id: str) -> dict[str, Any]:
    """The kept scenarios that exercise the journey draft (without running them)."""
    draft = _journey_draft(context, draft_id)
    with context.read() as connection:
        kept = list_scenarios(connection, draft["model"]["id"])
    return {"draft": draft_id, "journey": draft["model"]["id"],
            "scenarios": [s.summary() for s in kept]}


@router.post("/scenarios", dependencies=EDIT, responses=_ERRORS)
def run_scenarios(request: Request, context: Ctx, draft_id: str,
                  body: Annotated[ScenariosIn | None, Body()] = None) -> dict[str, Any]:
    """Run the kept scenarios that exercise the journey draft (or those named), the draft in
    place of its journey: each expectation held or failed with its place (``expect[2]``)."""
    return scenarios_json(context, runs_of(request), draft_id, body.names if body else None)


@router.post("/backtest", dependencies=EDIT, responses=_ERRORS)
def backtest(request: Request, context: Ctx, draft_id: str,
             body: Annotated[BacktestIn | None, Body()] = None) -> dict[str, Any]:
    """Replay the recorded history through the journey draft, enabled ``days`` ago, every
    channel in sandbox: per-node counts (entered, waiting, ended) and a sample of its
    enrollments with their paths and decisions. The live store is only read."""
    body = body or BacktestIn()
    return backtest_json(context, runs_of(request), draft_id, body.days, body.with_live_journeys)


@router.get("/segment", dependencies=EDIT, response_model=SegmentPreviewOut, responses=_ERRORS)
def segment(context: Ctx, draft_id: str) -> dict[str, Any]:
    """How many accounts a segment draft's condition matches now, and a sample of them."""
    draft = draft_json(context, draft_id)
    if draft["kind"] != "segment":
        raise ApiProblem(409, "conflict", f"draft {draft_id!r} is a {draft['kind']}, not a segment")
    model = draft.get("model")
    when = model.get("when") if isinstance(model, dict) else None
    return segment_preview_json(context, when, place="when")
