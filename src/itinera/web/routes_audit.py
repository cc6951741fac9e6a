"""The audit log in the UI: who changed what, when and from where, with filters by person,
object, kind and time, newest first, paged (as ``GET /api/audit`` and ``itinera audit``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from itinera.api.context import Ctx
from itinera.storage import audit
from itinera.web.auth import UiUser, ui_user
from itinera.web.pages import render

__all__ = ["router"]

router = APIRouter(prefix="/ui/audit", include_in_schema=False)
User = Annotated[UiUser, Depends(ui_user)]
Text = Annotated[str, Query(max_length=200)]
PAGE = 50


def _instant(value: str) -> datetime | None:
    """A date or an instant from the page's filter (``2026-12-01``, ``2026-12-01T09:00``);
    None when empty or unreadable (the form shows what was typed)."""
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")) if value.strip() \
            else None
    except ValueError:
        return None


@router.get("")
def audit_page(request: Request, context: Ctx, user: User, actor: Text = "",
               object: Text = "", kind: Text = "", since: Text = "", until: Text = "",
               after: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    object_kind, _, object_id = object.strip().partition(":")
    filters = audit.Filters(actor=actor.strip() or None, object_kind=object_kind or None,
                            object_id=object_id or None, kind=kind.strip() or None,
                            since=_instant(since), until=_instant(until))
    with context.read() as connection:
        entries = audit.entries(connection, filters, PAGE, after)
    query = {k: v for k, v in (("actor", actor), ("object", object), ("kind", kind),
                               ("since", since), ("until", until)) if v}
    older = (f"/ui/audit?{urlencode({**query, 'after': entries[-1]['id']})}"
             if len(entries) == PAGE else None)
    unread = [name for name, value in (("since", since), ("until", until))
              if value.strip() and _instant(value) is None]
    return render(request, "audit.html", user, section="audit", entries=entries, actor=actor,
                  object=object, kind=kind, since=since, until=until, kinds=audit.KINDS,
                  older=older, newest=f"/ui/audit?{urlencode(query)}" if after else None,
                  unread=unread)
