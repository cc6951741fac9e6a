"""The suppression list in the UI: the addresses no email goes to (hard bounces, complaints),
with their bounce counts, and lifting one — the same write as ``DELETE
/api/suppressions/{address}``, audited."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from itinera.api.auth import actor_of
from itinera.api.context import Ctx
from itinera.api.problems import ApiProblem
from itinera.runtime import bounces
from itinera.storage import suppressions
from itinera.web.auth import CsrfForm, UiUser, ui_user
from itinera.web.pages import render

__all__ = ["router"]

router = APIRouter(prefix="/ui/suppressions", include_in_schema=False)
User = Annotated[UiUser, Depends(ui_user)]
_PAGE = 100


@router.get("")
def suppressions_page(request: Request, context: Ctx, user: User,
                      q: Annotated[str, Query(max_length=320)] = "",
                      after: Annotated[str, Query(max_length=320)] = "",
                      lifted: Annotated[str, Query(max_length=320)] = "") -> Response:
    with context.read() as connection:
        items = suppressions.list_suppressions(connection, q=q or None, limit=_PAGE,
                                               after=after or None)
    more = items[-1]["address"] if len(items) == _PAGE else None
    return render(request, "suppressions.html", user, section="suppressions", items=items, q=q,
                  more=more, lifted=lifted)


@router.post("/lift")
def lift(request: Request, context: Ctx, user: CsrfForm,
         address: Annotated[str, Form(max_length=320)]) -> RedirectResponse:
    with context.write() as connection:
        before = bounces.lift(connection, address, actor_of(request))
    if before is None:
        raise ApiProblem(404, "not-found", f"{address!r} is not suppressed")
    return RedirectResponse(f"/ui/suppressions?{urlencode({'lifted': before['address']})}",
                            status_code=303)
