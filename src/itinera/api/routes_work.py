"""Enrollments and tasks: what the journeys did, and the Human Intervention Tasks they opened.

Lists are paged by id: ``limit`` items after the id ``after``; ``next`` is the ``after`` of the
following page (null on the last). Completing and reassigning a task change the task itself
(status ``completed``, ``completed_at``; ``assignee`` and the ``reassignments`` made).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request

from itinera.api.auth import EDIT, READ, actor_of
from itinera.api.body import ApiRoute
from itinera.api.context import After, Ctx, RowId
from itinera.api.problems import ApiProblem
from itinera.api.schemas import EnrollmentDetail, EnrollmentPage, ProblemOut, Reassign, TaskOut, TaskPage
from itinera.storage import audit, queries

__all__ = ["router"]

router = APIRouter(route_class=ApiRoute, prefix="/api")
Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
Status = Literal["active", "completed", "exited", "unenrolled"]
_MISSING: dict[int | str, dict[str, Any]] = {404: {"model": ProblemOut}}


def _page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    return {"items": items, "next": items[-1]["id"] if len(items) == limit else None}


@router.get("/enrollments", dependencies=READ, response_model=EnrollmentPage, tags=["enrollments"])
def list_enrollments(context: Ctx, journey: str | None = None, account: str | None = None,
                     status: Status | None = None, limit: Limit = 100,
                     after: After = None) -> dict[str, Any]:
    """Enrollments, filtered by journey, account and status."""
    with context.read() as connection:
        return _page(queries.enrollments(connection, journey=journey, account=account,
                                         status=status, limit=limit, after=after), limit)


@router.get("/enrollments/{enrollment_id}", dependencies=READ, response_model=EnrollmentDetail,
            responses=_MISSING, tags=["enrollments"])
def show_enrollment(context: Ctx, enrollment_id: RowId) -> dict[str, Any]:
    """One enrollment with its full history: each node visited and each decision, with why."""
    with context.read() as connection:
        found = queries.enrollment(connection, enrollment_id)
        if found is None:
            raise ApiProblem(404, "not-found", f"no enrollment {enrollment_id}")
        return {**found, "history": queries.history(connection, enrollment_id)}


@router.get("/tasks", dependencies=READ, response_model=TaskPage, tags=["tasks"])
def list_tasks(context: Ctx, assignee: str | None = None, status: str | None = None,
               account: str | None = None, limit: Limit = 100,
               after: After = None) -> dict[str, Any]:
    """Tasks (status ``open`` or ``completed``), filtered by assignee, status and account."""
    with context.read() as connection:
        return _page(queries.tasks(connection, assignee=assignee, status=status,
                                   account=account, limit=limit, after=after), limit)


@router.post("/tasks/{task_id}/complete", dependencies=EDIT, response_model=TaskOut, responses=_MISSING,
             tags=["tasks"])
def complete_task(request: Request, context: Ctx, task_id: RowId) -> dict[str, Any]:
    """Mark a task completed (completing it again changes nothing)."""
    with context.write() as connection:
        found = audit.task_change(connection, actor_of(request), "task_complete", task_id,
                                  lambda: queries.complete_task(connection, task_id,
                                                                context.service.clock.now()))
    if found is None:
        raise ApiProblem(404, "not-found", f"no task {task_id}")
    return found


@router.post("/tasks/{task_id}/reassign", dependencies=EDIT, response_model=TaskOut, responses=_MISSING,
             tags=["tasks"])
def reassign_task(request: Request, context: Ctx, task_id: RowId,
                  body: Annotated[Reassign, Body()]) -> dict[str, Any]:
    """Give a task to someone else."""
    with context.write() as connection:
        found = audit.task_change(connection, actor_of(request), "task_reassign", task_id,
                                  lambda: queries.reassign_task(connection, task_id,
                                                                body.assignee,
                                                                context.service.clock.now()))
    if found is None:
        raise ApiProblem(404, "not-found", f"no task {task_id}")
    return found
