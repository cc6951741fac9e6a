"""Itinera's bulk API: ``POST /api/accounts``, ``/api/people``, ``/api/buying-groups`` and
``/api/events`` take JSON arrays of records; ``POST /api/inputs`` takes raw inputs
(``{"event": {...}}``, ``{"publish": <journey>}``, ``{"configure": <workspace>}`` ...).

A batch is checked whole first: any bad record answers 422 with every problem, each placed by
the record's index (``[3].id``), and nothing of the batch is stored. A good batch is stored
durably and answered ``202 {"accepted": n}`` (``200`` with ``?wait=true``, once applied).
Upserts merge: attributes given are set, others kept. A buying group record adds its members
(each with the role given); the account and every member must exist (or come earlier in the
inbox). Event ids make repeats no-ops, however much later they come.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from itinera.api.auth import INGEST, READ, WRITE, actor_of, check_scope
from itinera.api.body import BULK_BYTES, ApiRoute, limit
from itinera.api.context import After, ApiContext, Ctx, Wait, accepted
from itinera.api.problems import invalid
from itinera.api.schemas import Accepted, RejectedPage, array_body
from itinera.definitions._shape import shape_problems
from itinera.definitions.scenario import AccountData, BuyingGroupData, EventData, PersonData
from itinera.domain.actor import Actor
from itinera.errors import DefinitionError, Problem
from itinera.runtime.checks import Refs, check_instant
from itinera.storage import queries
from itinera.storage.keys import ApiKey

__all__ = ["MAX_BATCH", "router"]

MAX_BATCH = 10_000
router = APIRouter(route_class=ApiRoute, prefix="/api", tags=["ingestion"])
Records = Annotated[list[Any], Body()]
_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"model": Accepted, "description": "Stored durably; the worker applies it within moments"},
    200: {"model": Accepted, "description": "Stored and applied (?wait=true)"}}


def _records(records: list[Any], model: type[BaseModel]) -> list[Problem]:
    if len(records) > MAX_BATCH:
        raise invalid([Problem("", f"at most {MAX_BATCH} records per batch, got {len(records)}")])
    problems: list[Problem] = []
    for i, record in enumerate(records):
        try:
            model.model_validate(record)
        except ValidationError as error:
            problems.extend(shape_problems(error, record, f"[{i}]"))
    return problems


def _store(context: ApiContext, entries: list[dict[str, Any]], problems: list[Problem],
           wait: bool, actor: Actor | None = None) -> JSONResponse:
    if problems:
        raise invalid(problems, "the batch")
    try:
        stored = context.receive(entries, actor=actor)  # configuration changes: audited
    except DefinitionError as error:  # what only the store can tell (unknown journeys...)
        raise invalid(error.problems, "the batch") from None
    return accepted(context, stored, wait)


@router.post("/accounts", dependencies=INGEST, status_code=202, responses=_ACCEPTED,
             openapi_extra=limit(BULK_BYTES, array_body(AccountData)))
def upsert_accounts(context: Ctx, records: Records, wait: Wait = False) -> JSONResponse:
    """Create or merge accounts."""
    problems = _records(records, AccountData)
    for i, record in enumerate(records):
        if isinstance(record, dict):
            check_instant(record.get("created_at"), f"[{i}].created_at", problems)
    return _store(context, [{"upsert_account": r} for r in records], problems, wait)


@router.post("/people", dependencies=INGEST, status_code=202, responses=_ACCEPTED,
             openapi_extra=limit(BULK_BYTES, array_body(PersonData)))
def upsert_people(context: Ctx, records: Records, wait: Wait = False) -> JSONResponse:
    """Create or merge people (``account`` links a person to an account)."""
    problems = _records(records, PersonData)
    return _store(context, [{"upsert_person": r} for r in records], problems, wait)


@router.post("/buying-groups", dependencies=INGEST, status_code=202, responses=_ACCEPTED,
             openapi_extra=limit(BULK_BYTES, array_body(BuyingGroupData)))
def upsert_buying_groups(context: Ctx, records: Records, wait: Wait = False) -> JSONResponse:
    """Add people to buying groups, creating a group that does not exist yet."""
    problems = _records(records, BuyingGroupData)
    groups = [(i, BuyingGroupData.model_validate(r)) for i, r in enumerate(records)
              if not any(p.place.startswith(f"[{i}]") for p in problems)]
    entries: list[dict[str, Any]] = []
    with context.read() as connection:
        refs = Refs(connection)
        refs.prefetch({g.account for _, g in groups}, {m.person for _, g in groups for m in g.members})
    for i, group in groups:
        if group.status is not None:
            problems.append(Problem(f"[{i}].status", "a status is set by a journey's "
                                    "set_buying_group_status, not by the bulk API (yet)"))
        if not group.members:
            problems.append(Problem(f"[{i}].members", "a buying group is made by adding people: "
                                    "list at least one member"))
        if group.account not in refs.accounts:
            problems.append(Problem(f"[{i}].account", f"no account {group.account!r}"))
        for j, member in enumerate(group.members):
            if member.person not in refs.people:
                problems.append(Problem(f"[{i}].members[{j}].person",
                                        f"no person {member.person!r}"))
            entries.append({"add_to_buying_group": {
                "account": group.account, "solution": group.solution, "person": member.person,
                "role": member.role, **({"template": group.template} if group.template else {})}})
    return _store(context, entries, problems, wait)


@router.post("/events", dependencies=INGEST, status_code=202, responses=_ACCEPTED,
             openapi_extra=limit(BULK_BYTES, array_body(EventData)))
def add_events(context: Ctx, records: Records, wait: Wait = False) -> JSONResponse:
    """Record events; an event whose ``id`` is known is ignored."""
    problems = _records(records, EventData)
    for i, record in enumerate(records):
        if isinstance(record, dict):
            check_instant(record.get("at"), f"[{i}].at", problems)
    return _store(context, [{"event": r} for r in records], problems, wait)


@router.post("/inputs", status_code=202, responses=_ACCEPTED,
             openapi_extra=limit(BULK_BYTES, {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "array", "items": {"type": "object", "description":
                                   "One input: {kind: body}, as a scenario timeline entry"}}}}}}))
def add_inputs(request: Request, context: Ctx, records: Records,
               caller: Annotated[ApiKey, WRITE[0]], wait: Wait = False) -> JSONResponse:
    """Raw inputs, applied in order: any timeline entry, ``configure`` or ``load_world``
    (these two change the workspace: they need an ``admin`` key)."""
    if any(isinstance(r, dict) and ("configure" in r or "load_world" in r) for r in records):
        check_scope(caller, "admin")
    if len(records) > MAX_BATCH:
        raise invalid([Problem("", f"at most {MAX_BATCH} inputs per batch, got {len(records)}")])
    actor = actor_of(request)
    # Who published is who calls, never what the body says; and a source text the caller
    # wrote beside the definition is not kept (the version's text is rebuilt from it).
    records = [{**{k: v for k, v in r.items() if k not in ("by", "source")}, "by": actor.label}
               if isinstance(r, dict) and "publish" in r else r for r in records]
    return _store(context, records, [], wait,  # receiving checks them (Service.submit)
                  actor)


@router.get("/rejected", dependencies=READ, response_model=RejectedPage, tags=["ingestion"])
def list_rejected(context: Ctx, source: str | None = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  after: After = None) -> dict[str, Any]:
    """Messages that could not be mapped, with their reasons; ``count`` is their total."""
    with context.read() as connection:
        count, items = queries.rejected(connection, source, limit, after)
    return {"count": count, "items": items,
            "next": items[-1]["id"] if len(items) == limit else None}
