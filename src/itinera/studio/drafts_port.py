"""Where the studio's checks read a draft: the contract's ``Draft`` JSON (``{id, kind,
object_id, revision, text, model, problems, ...}``), as ``GET /api/drafts/{id}`` answers it —
the stored draft (``storage.drafts``) examined as ``runtime.drafts`` examines it.

Until the studio page keeps its drafts in that store (it keeps them in memory for now,
``web.studio_drafts``), a draft id the store does not know is looked up there too, so that the
studio's Test panel works on the drafts the studio edits.
"""

from __future__ import annotations

from typing import Any

from itinera.api.context import ApiContext
from itinera.runtime import drafts as meaning
from itinera.storage import drafts as store

__all__ = ["draft_json"]


def draft_json(context: ApiContext, draft_id: str) -> dict[str, Any]:
    """The draft ``draft_id``; an ``ApiProblem`` 404 when there is none."""
    with context.read() as connection:
        row = store.get_draft(connection, draft_id)
        if row is not None:
            examined = meaning.examine(connection, row.kind, row.text, row.object_id)
            return {**row.as_dict(), "model": examined.model, "problems": examined.problems}
    from itinera.web import studio_drafts  # the web layer imports this module's users

    return studio_drafts.get(context, draft_id)
