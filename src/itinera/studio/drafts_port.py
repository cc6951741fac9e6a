"""Where the studio's checks read a draft: the contract's ``Draft`` JSON (``{id, kind,
object_id, revision, text, model, problems, ...}``) through the drafts functions the studio
uses (``web.studio_drafts``), so that the checks see what the studio edits. One place to
change when those functions move."""

from __future__ import annotations

from typing import Any

from itinera.api.context import ApiContext

__all__ = ["draft_json"]


def draft_json(context: ApiContext, draft_id: str) -> dict[str, Any]:
    """The draft ``draft_id``; an ``ApiProblem`` 404 when there is none."""
    from itinera.web import studio_drafts  # the web layer imports this module's users

    return studio_drafts.get(context, draft_id)
