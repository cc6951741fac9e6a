"""Where the studio's checks read a draft: the contract's ``Draft`` JSON (``{id, kind,
object_id, revision, text, model, problems, ...}``), as ``GET /api/drafts/{id}`` answers it —
the stored draft (``storage.drafts``) examined as ``runtime.drafts`` examines it. The studio
page keeps its drafts in the same store, so the checks see what it edits."""

from __future__ import annotations

from typing import Any

from itinera.api.context import ApiContext
from itinera.api.problems import ApiProblem
from itinera.runtime import drafts as meaning
from itinera.storage import drafts as store

__all__ = ["draft_json"]


def draft_json(context: ApiContext, draft_id: str) -> dict[str, Any]:
    """The draft ``draft_id``; an ``ApiProblem`` 404 when there is none."""
    with context.read() as connection:
        row = store.get_draft(connection, draft_id)
        if row is None:
            raise ApiProblem(404, "not-found", f"no draft {draft_id!r}")
        examined = meaning.examine(connection, row.kind, row.text, row.object_id)
    return {**row.as_dict(), "model": examined.model, "problems": examined.problems}
