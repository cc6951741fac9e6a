"""Response models and request-body schemas of the API, for ``/openapi.json``.

Request bodies are read raw and checked by the language's own models (so every problem is
reported with its place in Itinera's words); ``array_body`` documents them, and
``component_schemas`` adds the models they refer to under ``components/schemas``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from itinera.definitions.models import Journey
from itinera.definitions.scenario import AccountData, BuyingGroupData, EventData, PersonData
from itinera.definitions.schema import typed_definitions

__all__ = [
    "Accepted",
    "AccountDetail",
    "AccountOut",
    "AccountPage",
    "BuyingGroupOut",
    "DeliveryDetail",
    "DeliveryOut",
    "DeliveryPage",
    "EnrollmentDetail",
    "EnrollmentOut",
    "EnrollmentPage",
    "EventOut",
    "JourneyDetail",
    "JourneyOut",
    "MemberOut",
    "PersonOut",
    "ProblemOut",
    "Reassign",
    "RejectedOut",
    "RejectedPage",
    "TaskOut",
    "TaskPage",
    "Validation",
    "WhyOut",
    "array_body",
    "component_schemas",
    "journey_body",
]

_REF = "#/components/schemas/{model}"
_DOCUMENTED: list[type[BaseModel]] = [AccountData, PersonData, BuyingGroupData, EventData,
                                      Journey]


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class Accepted(BaseModel):
    accepted: int


class ProblemOut(_Out):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None


class Validation(BaseModel):
    valid: bool
    errors: list[dict[str, str]]


class EnrollmentOut(BaseModel):
    id: int
    journey: str
    version: int
    account: str
    status: str
    goal_achieved: bool
    goal_at: str | None
    enrolled_at: str | None
    ended_at: str | None
    reason: str | None
    path: list[Any]
    variants: dict[str, Any]


class EnrollmentDetail(EnrollmentOut):
    history: list[dict[str, Any]]


class EnrollmentPage(BaseModel):
    items: list[EnrollmentOut]
    next: int | None


class TaskOut(_Out):
    id: int
    status: str
    title: str | None
    assignee: str | None
    due: str | None
    notes: str | None
    journey: str | None
    node: str | None
    account: str | None
    person: str | None
    created_at: str | None


class TaskPage(BaseModel):
    items: list[TaskOut]
    next: int | None


class Reassign(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: str


class DeliveryOut(BaseModel):
    id: int
    key: str
    channel: str
    status: str  # pending | sending | delivered | skipped | dead | sent (sandbox) | completed (task)
    journey: str | None
    node: str | None
    account: str | None
    person: str | None
    at: str
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    delivered_at: str | None
    target: str | None
    reason: str | None  # why a skipped one was skipped (unsubscribed, frequency_cap...)


class DeliveryDetail(DeliveryOut):
    payload: dict[str, Any]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next: int | None


class RejectedOut(BaseModel):
    id: int
    source: str
    reason: str
    message: Any
    received_at: str | None


class RejectedPage(BaseModel):
    count: int
    items: list[RejectedOut]
    next: int | None


class JourneyOut(BaseModel):
    id: str
    name: str | None
    status: str
    version: int | None
    versions: list[dict[str, Any]]


class JourneyDetail(JourneyOut):
    definition: dict[str, Any] | None


class AccountOut(BaseModel):
    """An account: its attributes, CSM, playbooks and moments."""

    id: str
    attributes: dict[str, Any]
    csm: str | None
    playbooks: list[str]
    moments: list[dict[str, Any]]
    created_at: str


class AccountPage(BaseModel):
    """A page of accounts; ``next`` is the ``after`` of the following page."""

    items: list[AccountOut]
    next: str | None


class PersonOut(BaseModel):
    """A person, with the account they belong to."""

    id: str
    account: str | None
    email: str | None
    attributes: dict[str, Any]
    score: float
    unsubscribed: bool


class MemberOut(BaseModel):
    person: str
    role: str


class BuyingGroupOut(BaseModel):
    """An account's buying group for a solution: its members with their roles, and scores."""

    solution: str
    template: str | None
    status: str | None
    members: list[MemberOut]
    engagement_score: float
    completeness_score: float


class AccountDetail(AccountOut):
    """An account with its people, buying groups, segments and enrollments."""

    people: list[PersonOut]
    buying_groups: list[BuyingGroupOut]
    segments: list[str]
    enrollments: list[EnrollmentOut]


class EventOut(BaseModel):
    """An event as recorded."""

    id: str
    type: str
    account: str | None
    person: str | None
    at: str
    properties: dict[str, Any]


class ClauseOut(BaseModel):
    """One clause of a condition: in words, whether it holds, the values it read by name."""

    condition: str
    holds: bool
    values: dict[str, Any]


class ConditionOut(BaseModel):
    """A condition now: in words, its truth, its clauses, the one that decided (an index into
    ``clauses``; null when every clause counted) and when time alone would flip it."""

    condition: str | None
    holds: bool
    clauses: list[ClauseOut]
    deciding: int | None
    next_flip: str | None


class EntrySegmentOut(ConditionOut):
    """An entry segment: ``member`` as the worker last computed it, the rest evaluated now."""

    id: str
    member: bool


class EntryEventOut(BaseModel):
    type: str
    where: str | None
    count: int
    latest: dict[str, Any] | None


class EntryOut(BaseModel):
    segments: list[EntrySegmentOut]
    existing: bool
    event: EntryEventOut | None
    in_segment: bool
    next_flip: str | None


class ReenrollOut(BaseModel):
    rule: str
    allowed: bool
    # From when an entry is accepted (null: not by time alone — never, or enrolled now).
    from_: str | None = Field(alias="from")
    reason: str


class WhyEnrollmentOut(BaseModel):
    id: int
    version: int
    status: str
    enrolled_at: str | None
    ended_at: str | None
    reason: str | None
    goal_achieved: bool


class WhyOut(BaseModel):
    """Why (not)?: why an account is or is not in a journey."""

    account: str
    journey: str
    name: str | None
    status: str
    version: int
    at: str
    summary: str
    entry: EntryOut
    reenroll: ReenrollOut
    enrollments: list[WhyEnrollmentOut]
    goal: ConditionOut | None
    exit: ConditionOut | None
    next_change: str | None


def array_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a body that is a JSON array of ``model``."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "array", "items": {"$ref": _REF.format(model=model.__name__)}}}}}}


def journey_body() -> dict[str, Any]:
    """``openapi_extra`` for a body that is one journey, in JSON or in YAML."""
    schema = {"schema": {"$ref": _REF.format(model="Journey")}}
    return {"requestBody": {"required": True, "content": {"application/json": schema,
                                                           "application/yaml": schema}}}


def component_schemas() -> dict[str, Any]:
    """The schemas of the documented request models, by name, refs into components."""
    _, top = models_json_schema([(m, "validation") for m in _DOCUMENTED], by_alias=True,
                                ref_template=_REF)
    # Typed as `itinera schema` is: conditions, durations and actions' arguments.
    return typed_definitions(top.get("$defs", {}), _REF)
