"""What the drafts endpoints do, as functions: ``/api/drafts*`` and the studio's own UI
endpoints call the same ones, so both answer alike (problem documents from :class:`ApiProblem`).

Every write names the revision it read (409 when stale), is one transaction with its audit
entry, and checks its size: a draft's text is at most :data:`MAX_DRAFT_BYTES`.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.responses import JSONResponse

from itinera.api.context import ApiContext
from itinera.api.problems import PROBLEM_TYPES, ApiProblem, invalid
from itinera.definitions.loader import parse_document
from itinera.definitions.roundtrip import Edit, EditError, apply_edits
from itinera.domain.actor import Actor
from itinera.errors import DefinitionError, Problem
from itinera.runtime import drafts as meaning
from itinera.storage import audit, reviews
from itinera.storage import drafts as store
from itinera.storage.drafts import DraftRow, StaleRevision, TooManyDrafts

__all__ = [
    "MAX_DRAFT_BYTES",
    "DraftRefused",
    "create",
    "delete",
    "edit",
    "export",
    "list_all",
    "publish",
    "read",
    "refused_response",
    "replace_text",
]


# Where Service.submit places the publishing input's problems, taken off to place them in the
# draft's text as examine does.
_PREFIX = re.compile(r"^publish\[0\]\.(?:publish|configure\.(?:segments|templates)\[0\])\.?")


# A journey is a few kB. Reading, editing and writing back a text costs about 20 s per MiB in
# pure Python (the loader, then ruamel both ways), so a draft stays well under the loader's 2 MiB.
MAX_DRAFT_BYTES = 256 * 1024


class DraftRefused(ApiProblem):
    """422: the draft has problems; ``problems`` are ``{place, message, line, column}``."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        count = len(problems)
        super().__init__(422, "invalid-input",
                         f"the draft has {count} problem{'s' if count != 1 else ''}",
                         [Problem(p["place"], p["message"]) for p in problems])
        self.problems = problems


def refused_response(error: DraftRefused) -> JSONResponse:
    """The 422 problem document, with ``problems`` (line and column) beside ``errors``."""
    return JSONResponse({
        "type": "urn:itinera:problem:invalid-input", "title": PROBLEM_TYPES["invalid-input"],
        "status": 422, "detail": error.detail,
        "errors": [{"place": p["place"], "message": p["message"]} for p in error.problems],
        "problems": error.problems}, status_code=422, media_type="application/problem+json")


def _json(context: ApiContext, row: DraftRow) -> dict[str, Any]:
    with context.read() as connection:
        examined = meaning.examine(connection, row.kind, row.text, row.object_id)
    return {**row.as_dict(), "model": examined.model, "problems": examined.problems}


def _found(row: DraftRow | None, draft_id: str) -> DraftRow:
    if row is None:
        raise ApiProblem(404, "not-found", f"no draft {draft_id!r}")
    return row


def _row(context: ApiContext, draft_id: str) -> DraftRow:
    with context.read() as connection:
        return _found(store.get_draft(connection, draft_id), draft_id)


def _stale(error: StaleRevision) -> ApiProblem:
    return ApiProblem(409, "conflict", str(error))


def _sized(text: str) -> None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_DRAFT_BYTES:
        raise invalid([Problem("text", f"too large: {size:,} bytes (at most "
                                       f"{MAX_DRAFT_BYTES:,})")])


def _object_id(kind: str, text: str, fallback: str | None) -> str | None:
    """The id the text gives, else the draft's (a text that does not read keeps it)."""
    try:
        model = parse_document(text, meaning.file_name(kind, fallback))
    except DefinitionError:
        return fallback
    return meaning.object_id_of(model) or fallback


def _audited(row: DraftRow) -> dict[str, Any]:
    return {"kind": row.kind, "object_id": row.object_id, "revision": row.revision}


def list_all(context: ApiContext, kind: str | None = None) -> list[dict[str, Any]]:
    """Every draft (of ``kind``) without its text, the latest changed first."""
    with context.read() as connection:
        return [{k: v for k, v in row.as_dict().items() if k != "text"}
                for row in store.list_drafts(connection, kind)]


def read(context: ApiContext, draft_id: str) -> dict[str, Any]:
    """The draft's JSON: its row, ``model`` and ``problems``; 404 when there is none."""
    return _json(context, _row(context, draft_id))


def create(context: ApiContext, actor: Actor, kind: str, object_id: str | None = None,
           start: str = "new", text: str | None = None) -> dict[str, Any]:
    """A new draft: ``start`` ``new`` (the smallest document of its kind), ``current`` (what
    is published as ``object_id``; 404 when nothing is) or ``text`` (an imported file)."""
    base_version = None
    if start == "text":
        if text is None:
            raise invalid([Problem("text", "from=text needs the text")])
    elif text is not None:
        raise invalid([Problem("text", f"from={start} takes no text")])
    elif start == "current":
        if object_id is None:
            raise invalid([Problem("object_id", "from=current needs the object_id")])
        with context.read() as connection:
            found = meaning.current_text(connection, kind, object_id)
        if found is None:
            raise ApiProblem(404, "not-found", f"no {kind} {object_id!r} is published")
        text, base_version = found
    else:
        text = meaning.new_text(kind, object_id)
    _sized(text)
    try:
        with context.write() as connection:
            row = store.create_draft(connection, kind=kind,
                                     object_id=_object_id(kind, text, object_id), text=text,
                                     base_version=base_version, by=actor.label,
                                     now=context.now())
            audit.record(connection, actor, "draft_create", ("draft", row.id),
                         after=_audited(row))
    except TooManyDrafts as error:
        raise ApiProblem(409, "conflict", str(error)) from None
    return _json(context, row)


def _save(context: ApiContext, actor: Actor, row: DraftRow, revision: int,
          text: str) -> dict[str, Any]:
    _sized(text)
    try:
        with context.write() as connection:
            saved = _found(store.update_draft(
                connection, row.id, revision=revision, text=text,
                object_id=_object_id(row.kind, text, row.object_id), by=actor.label,
                now=context.now()), row.id)
            audit.record(connection, actor, "draft_change", ("draft", row.id),
                         before=_audited(row), after=_audited(saved))
    except StaleRevision as error:
        raise _stale(error) from None
    return _json(context, saved)


def replace_text(context: ApiContext, actor: Actor, draft_id: str, revision: int,
                 text: str, kind: str | None = None) -> dict[str, Any]:
    """Replace the draft's text (the YAML view's save); 409 when ``revision`` is stale, or
    when the draft is not of ``kind`` (a form of one kind never overwrites another's draft)."""
    row = _row(context, draft_id)
    if kind is not None and row.kind != kind:
        raise ApiProblem(409, "conflict", f"draft {draft_id} is a {row.kind} draft, not a "
                                          f"{kind} draft")
    return _save(context, actor, row, revision, text)


def edit(context: ApiContext, actor: Actor, draft_id: str, revision: int,
         edits: list[Edit]) -> dict[str, Any]:
    """Apply edit operations, all or none (``definitions.roundtrip``); 409 when stale, 422 at
    ``edits[i]`` when one does not fit, or when the text does not read."""
    row = _row(context, draft_id)
    if row.revision != revision:
        raise _stale(StaleRevision(draft_id, row.revision))
    try:
        text = apply_edits(row.text, edits, meaning.file_name(row.kind, row.object_id))
    except EditError as error:
        raise invalid(error.problems, "the edits") from None
    except DefinitionError as error:
        raise invalid(error.problems, "the draft's text (edit it as text first)") from None
    return _save(context, actor, row, revision, text)


def delete(context: ApiContext, actor: Actor, draft_id: str,
           revision: int | None = None) -> None:
    """Discard a draft (at ``revision`` when given: 409 otherwise); 404 when there is none."""
    try:
        with context.write() as connection:
            row = store.get_draft(connection, draft_id)
            if row is None or not store.delete_draft(connection, draft_id, revision):
                raise ApiProblem(404, "not-found", f"no draft {draft_id!r}")
            audit.record(connection, actor, "draft_delete", ("draft", draft_id),
                         before=_audited(row))
    except StaleRevision as error:
        raise _stale(error) from None


def export(context: ApiContext, draft_id: str) -> tuple[str, str]:
    """``(file name, text)`` of the draft, as written."""
    row = _row(context, draft_id)
    return meaning.file_name(row.kind, row.object_id), row.text


def publish(context: ApiContext, actor: Actor, draft_id: str, revision: int | None = None,
            wait: bool = False, moves: dict[str, str | None] | None = None,
            move_matching: bool = False) -> dict[str, Any]:
    """Publish the draft and remove it, in one transaction with the audit entries: a journey
    as its next version (with its text, who published it and any in-flight ``moves``), a
    segment or template into the workspace. :class:`DraftRefused` while problems remain (the
    workspace's too: a reference that went away since), 409 when stale. ``wait``: applied
    before answering, with the journey's new ``version``."""
    row = _row(context, draft_id)
    if revision is not None and revision != row.revision:
        raise _stale(StaleRevision(draft_id, row.revision))
    if (moves or move_matching) and row.kind != "journey":
        raise invalid([Problem("moves", "only a journey's publish moves enrollments")])
    with context.read() as connection:
        examined = meaning.examine(connection, row.kind, row.text, row.object_id)
        if not examined.problems and row.object_id is not None and row.kind in (
                "template", "journey"):  # the approval workflow's gate, when it is on
            examined.problems.extend(
                {"place": p.place, "message": p.message, "line": None, "column": None}
                for p in reviews.publish_problems(connection, row.kind, row.object_id,
                                                  examined.model))
    if examined.problems:
        raise DraftRefused(examined.problems)
    entry = meaning.publish_entry(row.kind, examined.model, row.text, actor.label)
    if moves or move_matching:
        entry |= {"moves": moves or {}, "move_matching": move_matching}
    service = context.service
    try:
        with service.intake.engine.begin() as connection:
            store.delete_draft(connection, draft_id, row.revision)
            audit.record_inputs(connection, actor, [entry])
            service.submit([entry], "publish", connection=connection)
    except StaleRevision as error:
        raise _stale(error) from None
    except DefinitionError as error:  # changed since it was examined: its problems now
        raise DraftRefused([{"place": _PREFIX.sub("", p.place), "message": p.message,
                             "line": None, "column": None} for p in error.problems]) from None
    service.wake()
    answer: dict[str, Any] = {"accepted": 1, "kind": row.kind, "object_id": row.object_id}
    if wait:
        context.drain()
        if row.kind == "journey" and row.object_id is not None:
            with context.read() as connection:
                versions = store.journey_versions(connection, row.object_id)
            answer["version"] = versions[-1]["version"] if versions else None
    return answer
