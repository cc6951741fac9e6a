"""A journey's versions in the UI: their history, a diff of any two (on the graph and as YAML),
and publishing a new version through the impact preview — a draft's, an earlier version's (a
rollback) or a file's text — with the form that maps the in-flight enrollments of each node.

The preview is ``runtime.impact`` (the API's); publishing goes through the same path as
``POST /api/journeys?move=…&wait=true``: received into the inbox, then applied before the page
answers. The candidate travels in the form as YAML text, so what was previewed is what is
published.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from itinera.analytics import queries as analytics_queries
from itinera.api.context import ID_MAX, Ctx
from itinera.api.problems import ApiProblem
from itinera.definitions.loader import parse_document
from itinera.definitions.models import Journey
from itinera.engine.moves import PARKING
from itinera.errors import DefinitionError, Problem
from itinera.runtime.checks import Refs
from itinera.runtime.impact import impact
from itinera.storage import queries
from itinera.web.auth import CsrfForm, UiUser, ui_user
from itinera.web.version_diff import definition_yaml, diff_versions

__all__ = ["router"]

router = APIRouter(prefix="/ui/journeys", include_in_schema=False)
User = Annotated[UiUser, Depends(ui_user)]
VersionQuery = Annotated[int | None, Query(ge=1, le=ID_MAX)]
_MAX_TEXT = 256 * 1024  # a journey file's text, as the form carries it


def _journey(connection: sa.Connection, journey_id: str) -> tuple[dict[str, Any],
                                                                  dict[int, dict[str, Any]]]:
    found = queries.journey(connection, journey_id)
    if found is None:
        raise ApiProblem(404, "not-found", f"no journey {journey_id!r}")
    return found, analytics_queries.definitions(connection, journey_id)


def _render(request: Request, name: str, user: UiUser, **context: Any) -> Response:
    from itinera.web.pages import render

    return render(request, name, user, section="journeys", **context)


@router.get("/{journey_id}/versions")
def versions_page(request: Request, context: Ctx, user: User, journey_id: str) -> Response:
    with context.read() as connection:
        journey, definitions = _journey(connection, journey_id)
    rows = [{**v, "name": definitions.get(v["version"], {}).get("name"),
             "nodes": len(definitions.get(v["version"], {}).get("nodes") or {})}
            for v in reversed(journey["versions"])]
    return _render(request, "versions.html", user, journey=journey, rows=rows)


@router.get("/{journey_id}/diff")
def diff_page(request: Request, context: Ctx, user: User, journey_id: str,
              a: VersionQuery = None, b: VersionQuery = None) -> Response:
    with context.read() as connection:
        journey, definitions = _journey(connection, journey_id)
    numbers = sorted(definitions)
    newer = b if b is not None else (journey["version"] or numbers[-1])
    older = a if a is not None else max([n for n in numbers if n < newer], default=newer)
    for number in (older, newer):
        if number not in definitions:
            raise ApiProblem(404, "not-found", f"journey {journey_id!r} has no version {number}")
    diff = diff_versions(definitions[older], definitions[newer])
    return _render(request, "version_diff.html", user, journey=journey, older=older,
                   newer=newer, numbers=numbers, diff=diff)


@router.get("/{journey_id}/rollback")
def rollback_page(request: Request, context: Ctx, user: User, journey_id: str,
                  to: Annotated[int, Query(ge=1, le=ID_MAX)]) -> Response:
    """Publish version ``to`` again as the next version, through the impact preview."""
    with context.read() as connection:
        journey, definitions = _journey(connection, journey_id)
        if to not in definitions:
            raise ApiProblem(404, "not-found", f"journey {journey_id!r} has no version {to}")
        text = definition_yaml(definitions[to])
        view = _preview(connection, context, journey, text, None)
    return _render(request, "publish.html", user, source=f"version {to} (a rollback)",
                   action=f"/ui/journeys/{journey_id}/publish", **view)


@router.get("/{journey_id}/publish")
def publish_page(request: Request, context: Ctx, user: User, journey_id: str) -> Response:
    """Publish a new version from a journey file's text: paste it, preview, publish."""
    with context.read() as connection:
        journey, definitions = _journey(connection, journey_id)
        current = definitions.get(journey["version"] or max(definitions))
        view = _preview(connection, context, journey, definition_yaml(current or {}), None,
                        preview=False)
    return _render(request, "publish.html", user, source="a journey file",
                   action=f"/ui/journeys/{journey_id}/publish", **view)


@router.post("/{journey_id}/publish")
def publish(request: Request, context: Ctx, user: CsrfForm, journey_id: str,
            text: Annotated[str, Form(max_length=_MAX_TEXT)],
            source: Annotated[str, Form(max_length=200)] = "a journey file",
            intent: Annotated[str, Form(max_length=20)] = "preview",
            mapped: Annotated[bool, Form()] = False,
            move: Annotated[list[str], Form(max_length=1000)] = []  # noqa: B006
            ) -> Response:
    """``intent=preview``: the impact preview of ``text`` with the moves chosen in the form
    (``move`` fields ``OLD=NEW``, or ``OLD=`` to stay; with ``mapped`` — the form was shown —
    a node it does not name stays). ``publish``: publish it with those moves, then show the
    journey's versions."""
    chosen = None
    if mapped:
        chosen = {}
        for item in move:
            source_node, _, target = item.partition("=")
            chosen[source_node] = target or None
    with context.read() as connection:
        journey, _ = _journey(connection, journey_id)
        view = _preview(connection, context, journey, text, chosen)
    page = {"source": source, "action": f"/ui/journeys/{journey_id}/publish"}
    if intent != "publish" or view["problems"] or view["impact"] is None:
        return _render(request, "publish.html", user, **page, **view)
    entry: dict[str, Any] = {"publish": view["model"]}
    if any(target is not None for target in view["moves"].values()):
        entry |= {"moves": view["moves"], "move_matching": False}
    try:
        context.receive([entry])
    except DefinitionError as error:  # the store changed since the preview
        view["problems"] = error.problems
        return _render(request, "publish.html", user, **page, **view)
    context.drain()
    return RedirectResponse(f"/ui/journeys/{journey_id}/versions?published=1", status_code=303)


def _preview(connection: sa.Connection, context: Ctx, journey: dict[str, Any], text: str,
             chosen: dict[str, str | None] | None, *, preview: bool = True) -> dict[str, Any]:
    """What the publish page shows for the candidate ``text``: its problems, or the impact of
    publishing it with ``chosen`` moves (None: the nodes the new version keeps, preselected),
    and for each group of the current version the nodes it may move to."""
    view: dict[str, Any] = {"journey": journey, "text": text, "problems": [], "impact": None,
                            "model": None, "moves": {}, "choices": {}, "preview": preview}
    if not preview:
        return view
    problems: list[Problem] = []
    try:
        raw = parse_document(text.encode(), "text", "yaml")
    except DefinitionError as error:
        view["problems"] = error.problems
        return view
    Refs(connection).check_journey(raw, "", problems)
    if not problems and isinstance(raw, dict) and raw.get("id") != journey["id"]:
        problems.append(Problem("id", f"the file is journey {raw.get('id')!r}, not "
                                      f"{journey['id']!r}"))
    if problems:
        view["problems"] = problems
        return view
    candidate = Journey.model_validate(raw)
    current = journey["version"]
    definitions = analytics_queries.definitions(connection, journey["id"])
    old = Journey.model_validate(definitions[current]) if current in definitions else None
    moves: dict[str, str | None] = {}
    choices: dict[str, list[str]] = {}
    if old is not None:
        for node_id, node in old.nodes.items():
            if node.kind not in PARKING:
                continue
            fits = [n for n, other in candidate.nodes.items()
                    if (other.kind == "merge") == (node.kind == "merge")
                    and other.kind in PARKING]
            choices[node_id] = fits
            if chosen is None:
                moves[node_id] = node_id if node_id in fits else None
            else:
                target = chosen.get(node_id)
                moves[node_id] = target if target in fits else None
    found = impact(connection, candidate, moves, False, context.service.clock.now())
    view.update(impact=found, model=raw, moves=moves, choices=choices,
                problems=[Problem(p, m) for p, m in found.plan.problems])
    return view
