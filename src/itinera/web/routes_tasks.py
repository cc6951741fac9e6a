"""The CSMs' inbox of Human Intervention Tasks: filter by assignee and status, complete a task
(with an optional note) or give it to someone else — the same writes as the REST API's
``POST /api/tasks/{id}/complete`` and ``/reassign``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from itinera.api.auth import actor_of
from itinera.api.context import Ctx, RowId
from itinera.api.problems import ApiProblem
from itinera.storage import audit, queries, views
from itinera.web import reads
from itinera.web.auth import EditForm, UiUser, ui_user
from itinera.web.pages import render

__all__ = ["router"]

router = APIRouter(prefix="/ui/tasks", include_in_schema=False)
User = Annotated[UiUser, Depends(ui_user)]


def _back(status: str, assignee: str, done: str) -> str:
    query = urlencode([(k, v) for k, v in (("status", status), ("assignee", assignee), ("done", done)) if v])
    return "/ui/tasks" + (f"?{query}" if query else "")


@router.get("")
def tasks_page(request: Request, context: Ctx, user: User, status: str = "open",
               assignee: str = "", done: str = "",
               page: Annotated[int, Query(ge=1, le=1_000_000)] = 1) -> Response:
    status = status if status in ("open", "completed") else "all"  # "all" (or empty): every task
    with context.read() as connection:
        tasks, at = reads.task_page(connection, None if status == "all" else status,
                                    assignee or None, page)
        csms = views.csms(connection)
        counts = reads.task_counts(connection)
    names = {c.id: c.name or c.id for c in csms}
    query = {k: v for k, v in (("status", status), ("assignee", assignee)) if v}
    return render(request, "tasks.html", user, section="tasks", tasks=tasks, csms=csms,
                  names=names, status=status, assignee=assignee, done=done, counts=counts,
                  at=at, query=query)


@router.post("/{task_id}/complete")
def complete(request: Request, context: Ctx, user: EditForm, task_id: RowId,
             note: Annotated[str, Form()] = "",
             status: Annotated[str, Form()] = "open",
             assignee: Annotated[str, Form()] = "") -> RedirectResponse:
    with context.write() as connection:
        found = audit.task_change(connection, actor_of(request), "task_complete", task_id,
                                  lambda: queries.complete_task(
                                      connection, task_id, context.service.clock.now(),
                                      note.strip() or None))
    if found is None:
        raise ApiProblem(404, "not-found", f"no task {task_id}")
    return RedirectResponse(_back(status, assignee, f"completed:{task_id}"), status_code=303)


@router.post("/{task_id}/reassign")
def reassign(request: Request, context: Ctx, user: EditForm, task_id: RowId,
             to: Annotated[str, Form()] = "",
             status: Annotated[str, Form()] = "open",
             assignee: Annotated[str, Form()] = "") -> RedirectResponse:
    if not to.strip():
        raise ApiProblem(422, "invalid-input", "reassign: say to whom (to)")
    with context.write() as connection:
        found = audit.task_change(connection, actor_of(request), "task_reassign", task_id,
                                  lambda: queries.reassign_task(connection, task_id, to.strip(),
                                                                context.service.clock.now()))
    if found is None:
        raise ApiProblem(404, "not-found", f"no task {task_id}")
    return RedirectResponse(_back(status, assignee, f"reassigned:{task_id}"), status_code=303)
