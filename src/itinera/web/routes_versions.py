"""A journey's versions in the UI: their history, a diff of any two (on the graph and as YAML),
and publishing a new version through the impact preview — a draft's, an earlier version's (a
rollback) or a file's text — with the form that maps the in-flight enrollments of each node.

The preview is ``runtime.impact`` (the API's); publishing goes through the same path as
``POST /api/journeys?move=…&wait=true``: received into the inbox, then applied before the page
answers. The candidate travels in the form as YAML text, so what was previewed is what is
published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from itinera.analytics import queries as analytics_queries
from itinera.api.auth import actor_of
from itinera.api.context import ID_MAX, Ctx
from itinera.api.problems import ApiProblem
from itinera.definitions.loader import parse_document
from itinera.definitions.models import Journey
from itinera.domain.actor import Actor
from itinera.engine.moves import PARKING
from itinera.errors import DefinitionError, Problem
from itinera.runtime.checks import Refs
from itinera.runtime.impact import impact
from itinera.storage import audit, queries
from itinera.storage import drafts as drafts_store
from itinera.storage.drafts import StaleRevision
from itinera.web import studio_drafts
from itinera.web.auth import CsrfForm, UiUser, ui_user
from itinera.web.version_diff import definition_yaml, diff_versions

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
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


@router.get("/ui/journeys/{journey_id}/versions")
def versions_page(request: Request, context: Ctx, user: User, journey_id: str) -> Response:
    with context.read() as connection:
        journey, definitions = _journey(connection, journey_id)
        publishers = _publishers(connection, journey_id)
        recorded = {v["version"]: v["published_by"]
                    for v in drafts_store.journey_versions(connection, journey_id)}
    rows = [{**v, "name": definitions.get(v["version"], {}).get("name"),
             "nodes": len(definitions.get(v["version"], {}).get("nodes") or {}),
             "published_by": recorded.get(v["version"]) or publishers.get(v["version"])}
            for v in reversed(journey["versions"])]
    return _render(request, "versions.html", user, journey=journey, rows=rows)


def _publishers(connection: sa.Connection, journey_id: str) -> dict[int, str]:
    """Who published each version, from the audit log: a publish received while version N
    was current made version N + 1 (the first, while none was, version 1). Versions published
    without an audit entry (a scenario's, before the log) have none."""
    found: dict[int, str] = {}
    for entry in reversed(audit.entries(connection, audit.Filters(
            object_kind="journey", object_id=journey_id, kind="publish"), limit=1000)):
        before = entry.get("before") or {}
        replaced = before.get("version") if isinstance(before, dict) else None
        made = (replaced + 1) if isinstance(replaced, int) else 1
        actor = entry["actor"]
        found[made] = f"{actor['name'] or actor['id']} ({actor['kind']}), {entry['at']}"
    return found


@router.get("/ui/journeys/{journey_id}/diff")
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


@router.get("/ui/journeys/{journey_id}/rollback")
def rollback_page(request: Request, context: Ctx, user: User, journey_id: str,
                  to: Annotated[int, Query(ge=1, le=ID_MAX)]) -> Response:
    """Publish version ``to`` again as the next version, through the impact preview."""
    with context.read() as connection:
        journey, definitions = _journey(connection, journey_id)
        if to not in definitions:
            raise ApiProblem(404, "not-found", f"journey {journey_id!r} has no version {to}")
        kept = drafts_store.journey_version(connection, journey_id, to)
        # The text it was published from (comments and all) when kept, else its definition.
        text = str(kept["source"]) if kept and kept.get("source") else definition_yaml(
            definitions[to])
        view = _preview(connection, context, journey, text, None)
    return _render(request, "publish.html", user, source=f"version {to} (a rollback)",
                   action=f"/ui/journeys/{journey_id}/publish", **view)


@router.get("/ui/journeys/{journey_id}/publish")
def publish_page(request: Request, context: Ctx, user: User, journey_id: str) -> Response:
    """Publish a new version from a journey file's text: paste it, preview, publish."""
    with context.read() as connection:
        journey, definitions = _journey(connection, journey_id)
        current = definitions.get(journey["version"] or max(definitions))
        view = _preview(connection, context, journey, definition_yaml(current or {}), None,
                        preview=False)
    return _render(request, "publish.html", user, source="a journey file",
                   action=f"/ui/journeys/{journey_id}/publish", **view)


Text = Annotated[str, Form(max_length=_MAX_TEXT)]
Source = Annotated[str, Form(max_length=200)]
Intent = Annotated[str, Form(max_length=20)]
Mapped = Annotated[bool, Form()]
Moves = Annotated[list[str], Form(max_length=1000)]


@router.post("/ui/journeys/{journey_id}/publish")
def publish(request: Request, context: Ctx, user: CsrfForm, journey_id: str, text: Text,
            source: Source = "a journey file", intent: Intent = "preview", mapped: Mapped = False,
            move: Moves = []  # noqa: B006 (FastAPI copies it per request)
            ) -> Response:
    """``intent=preview``: the impact preview of ``text`` with the moves chosen in the form
    (``move`` fields ``OLD=NEW``, or ``OLD=`` to stay; with ``mapped`` — the form was shown —
    a node it does not name stays). ``publish``: publish it with those moves, then show the
    journey's versions."""
    return _submit(request, context, user, journey_id, text, source, intent, mapped, move,
                   f"/ui/journeys/{journey_id}/publish")


@router.get("/ui/drafts/{draft_id}/publish")
def draft_publish_page(request: Request, context: Ctx, user: User, draft_id: str) -> Response:
    """The studio's Publish: the draft's impact preview, the moves form, then publish."""
    draft = _draft(context, draft_id)
    with context.read() as connection:
        journey = _journey_or_new(connection, draft.journey)
        view = _preview(connection, context, journey, draft.text, None)
    return _render(request, "publish.html", user, source=f"draft {draft_id}",
                   action=f"/ui/drafts/{draft_id}/publish", revision=draft.revision, **view)


@router.post("/ui/drafts/{draft_id}/publish")
def draft_publish(request: Request, context: Ctx, user: CsrfForm, draft_id: str, text: Text,
                  intent: Intent = "preview", mapped: Mapped = False,
                  move: Moves = [],  # noqa: B006
                  revision: Annotated[int | None, Form(ge=1, le=ID_MAX)] = None) -> Response:
    """Preview or publish the draft's text as the form carries it (what was previewed); a
    stored draft is published with its text and who published it, and removed in the same
    transaction (as ``POST /api/drafts/{id}/publish``); a draft changed since the page was
    shown is refused (preview again)."""
    draft = _draft(context, draft_id)
    return _submit(request, context, user, draft.journey, text, f"draft {draft_id}", intent,
                   mapped, move, f"/ui/drafts/{draft_id}/publish",
                   draft if draft.stored else None, revision)


@dataclass
class _Draft:
    id: str
    journey: str
    text: str
    revision: int | None
    stored: bool  # in the drafts table (else the studio's stand-in)


def _draft(context: Ctx, draft_id: str) -> _Draft:
    with context.read() as connection:
        row = drafts_store.get_draft(connection, draft_id)
    if row is not None:
        if row.kind != "journey" or row.object_id is None:
            raise ApiProblem(404, "not-found", f"draft {draft_id} is no journey with an id")
        return _Draft(draft_id, row.object_id, row.text, row.revision, True)
    found = studio_drafts.get(context, draft_id)
    if found.get("kind") != "journey":
        raise ApiProblem(404, "not-found", f"draft {draft_id} is no journey")
    model = found.get("model")
    journey = found.get("object_id") or (model.get("id") if isinstance(model, dict) else None)
    if not isinstance(journey, str):
        raise ApiProblem(422, "invalid", "the draft has no journey id yet")
    return _Draft(draft_id, journey, str(found.get("text") or ""), found.get("revision"), False)


def _journey_or_new(connection: sa.Connection, journey_id: str) -> dict[str, Any]:
    found = queries.journey(connection, journey_id)
    return found or {"id": journey_id, "name": None, "status": "new", "version": None,
                     "versions": []}


def _submit(request: Request, context: Ctx, user: UiUser, journey_id: str, text: str,
            source: str, intent: str, mapped: bool, move: list[str], action: str,
            draft: _Draft | None = None, revision: int | None = None) -> Response:
    chosen = None
    if mapped:
        chosen = {}
        for item in move:
            source_node, _, target = item.partition("=")
            chosen[source_node] = target or None
    with context.read() as connection:
        journey = _journey_or_new(connection, journey_id)
        view = _preview(connection, context, journey, text, chosen)
    page = {"source": source, "action": action, "revision": revision}
    if intent != "publish" or view["problems"] or view["impact"] is None:
        return _render(request, "publish.html", user, **page, **view)
    actor = actor_of(request)
    entry: dict[str, Any] = {"publish": view["model"], "source": text, "by": actor.label}
    if any(target is not None for target in view["moves"].values()):
        entry |= {"moves": view["moves"], "move_matching": False}
    try:
        if draft is None:
            context.receive([entry], actor=actor)
        else:
            _publish_draft(context, draft, revision, entry, actor)
    except DefinitionError as error:  # the store changed since the preview
        view["problems"] = error.problems
        return _render(request, "publish.html", user, **page, **view)
    except StaleRevision as error:
        view["problems"] = [Problem("draft", f"the draft changed since this page was shown "
                                             f"(revision {error.current}): preview it again")]
        return _render(request, "publish.html", user, **page, **view)
    context.drain()
    return RedirectResponse(f"/ui/journeys/{journey_id}/versions?published=1", status_code=303)


def _publish_draft(context: Ctx, draft: _Draft, revision: int | None, entry: dict[str, Any],
                   actor: Actor) -> None:
    """The publish input, its audit entry and the draft's removal: one transaction."""
    service = context.service
    with service.intake.engine.begin() as connection:
        if not drafts_store.delete_draft(connection, draft.id, revision or draft.revision):
            raise DefinitionError([Problem("draft", "the draft is gone (published or deleted)")])
        audit.record_inputs(connection, actor, [entry])
        service.submit([entry], "publish", connection=connection)
    service.wake()


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
    # A node left to stay that the new version does not have is not the user's choice: the
    # plan flags it with why (removed, another kind).
    moves = {k: v for k, v in moves.items() if v is not None or k in candidate.nodes}
    found = impact(connection, candidate, moves, False, context.service.clock.now())
    view.update(impact=found, model=raw, moves=moves, choices=choices,
                problems=[Problem(p, m) for p, m in found.plan.problems])
    return view
