"""The studio's "Test" panel of a journey draft, as htmx fragments (the studio page loads
``/ui/drafts/{id}/tests`` into a side panel): the kept scenarios that exercise the draft, run
with the draft in its journey's place, each expectation held or failed; and a backtest over the
last days of recorded history, with per-node counts for the graph (an element with
``data-node-counts``, which the studio draws on its nodes) and a sample of accounts with their
paths and decisions. Both run as the API's ``/api/drafts/{id}/checks/…`` do."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from itinera.api.context import Ctx
from itinera.api.problems import ApiProblem
from itinera.api.routes_draft_checks import backtest_json, runs_of, scenarios_json
from itinera.storage.views import account_view
from itinera.studio.draft_backtest import MAX_DAYS
from itinera.studio.drafts_port import draft_json
from itinera.studio.scenarios import list_scenarios
from itinera.web.auth import EditForm, UiUser, ui_user
from itinera.web.pages import render

__all__ = ["router"]

router = APIRouter(prefix="/ui/drafts/{draft_id}/tests", include_in_schema=False)
User = Annotated[UiUser, Depends(ui_user)]


def _said(request: Request, user: UiUser, error: ApiProblem) -> Response:
    """A refusal as a fragment htmx swaps in (it does not swap error statuses)."""
    return render(request, "_draft_test_error.html", user, detail=error.detail,
                  errors=error.errors or [])


@router.get("")
def tests_panel(request: Request, context: Ctx, user: User, draft_id: str) -> Response:
    try:
        draft = draft_json(context, draft_id)
    except ApiProblem as error:
        return _said(request, user, error)
    model = draft.get("model")
    journey = model.get("id") if isinstance(model, dict) else None
    with context.read() as connection:
        kept = list_scenarios(connection, journey) if isinstance(journey, str) else []
    return render(request, "_draft_tests.html", user, draft=draft, journey=journey,
                  scenarios=kept, max_days=MAX_DAYS)


@router.post("/scenarios")
def run_scenarios(request: Request, context: Ctx, user: EditForm, draft_id: str) -> Response:
    try:
        found = scenarios_json(context, runs_of(request), draft_id)
    except ApiProblem as error:
        return _said(request, user, error)
    return render(request, "_draft_scenarios.html", user, found=found)


@router.post("/backtest")
def run_backtest(request: Request, context: Ctx, user: EditForm, draft_id: str,
                 days: Annotated[int, Form(ge=1, le=MAX_DAYS)] = 14) -> Response:
    try:
        found = backtest_json(context, runs_of(request), draft_id, days)
    except ApiProblem as error:
        return _said(request, user, error)
    counts = {node: c["entered"] for node, c in found.get("nodes", {}).items()}
    return render(request, "_draft_backtest.html", user, found=found,
                  counts=json.dumps(counts), names=_names(context, found))


def _names(context: Ctx, found: dict[str, Any]) -> dict[str, str]:
    """The live names of the sampled accounts (the backtest gives them as recorded)."""
    names: dict[str, str] = {}
    with context.read() as connection:
        for item in found.get("sample", []):
            view = account_view(connection, item["account"])
            if view is not None and view.account.attributes.get("name"):
                names[item["account"]] = str(view.account.attributes["name"])
    return names
