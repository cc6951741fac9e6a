"""The journey language and scenario files as pydantic models (docs/reference/).

These models check shape (keys, types, one kind per node, one action per list item); the
semantic checks that need the whole workspace (references, reachability, cycles) live in
``definitions.validate``. Conditions stay raw mappings here and are parsed there, with places.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from itinera.timeutil import DURATION_PATTERN, parse_duration

__all__ = [
    "NODE_KINDS",
    "Action",
    "Branch",
    "Entry",
    "EntryEvent",
    "Exit",
    "Experiment",
    "Goal",
    "Journey",
    "Node",
    "PersonBranch",
    "Variant",
    "WaitFor",
    "WaitUntil",
]

# Conditions stay raw mappings (parsed with places in ``definitions.validate``); their JSON
# Schema is a marker that ``definitions.schema`` replaces with the typed condition language of
# that scope, generated from the condition parser's tables.
CONDITION_MARKER = "x-itinera-condition"


def _condition(scope: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "object", CONDITION_MARKER: scope})


ConditionSpec = Annotated[dict[str, Any], _condition("account")]
PersonConditionSpec = Annotated[dict[str, Any], _condition("person")]
EventConditionSpec = Annotated[dict[str, Any], _condition("event")]
Duration = Annotated[str, Field(pattern=DURATION_PATTERN, examples=["3d", "12h", "2w"])]
# Durations checked by a validator (its message is clearer than a pattern's); the schema still
# shows editors the form. Waits and timeouts are not negative; offsets may be.
NON_NEGATIVE_DURATION_PATTERN = r"^\+?[0-9]+[smhdw]$"
_Wait = Annotated[str, WithJsonSchema({"type": "string", "pattern": NON_NEGATIVE_DURATION_PATTERN,
                                       "examples": ["3d", "12h", "2w"]})]
_Offset = Annotated[str, WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN,
                                         "examples": ["-60d", "9h"]})]
Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=100)]
Target = str | dict[str, Any]  # path_people | all | {role: R} | a condition on person.*


def _duration(value: Any) -> Any:
    parse_duration(value)
    return value


class Model(BaseModel):
    # allow_inf_nan: "inf" or "nan" written as text would otherwise pass as a float.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              allow_inf_nan=False)


class EntryEvent(Model):
    type: str
    where: EventConditionSpec | None = None


class ReenrollAfter(Model):
    after: _Wait

    _check = field_validator("after")(_duration)


class Entry(Model):
    segments: list[str] = Field(default_factory=list)
    event: EntryEvent | None = None
    existing: bool = False
    reenroll: Literal["never", "always"] | ReenrollAfter = "never"


class Goal(Model):
    when: ConditionSpec
    on_met: Literal["exit", "continue"] = "exit"


class Exit(Model):
    when: ConditionSpec | None = None
    on_segment_exit: bool = False
    unenroll_from: list[str] = Field(default_factory=list)


class Branch(Model):
    when: ConditionSpec | None = None
    next: str | None = None
    else_: str | None = Field(default=None, alias="else")

    @model_validator(mode="after")
    def _shape(self) -> Branch:
        if self.else_ is not None:
            if self.when is not None or self.next is not None:
                raise ValueError("an 'else' branch has only 'else: <node>'")
        elif self.when is None:
            raise ValueError("a branch needs 'when' and 'next' (or is 'else: <node>')")
        return self


class PersonBranch(Branch):
    """A branch of ``split_people``: its condition reads ``person.*`` as well as ``account.*``."""

    when: PersonConditionSpec | None = None


class WaitUntil(Model):
    date: str | None = None
    offset: _Offset | None = None
    at: str | None = None

    _check = field_validator("offset")(lambda v: v if v is None else _duration(v))

    @model_validator(mode="after")
    def _shape(self) -> WaitUntil:
        if (self.date is None) == (self.at is None):
            raise ValueError("wait_until takes either 'date: account.<attribute>' or 'at: <instant>'")
        return self


class WaitFor(Model):
    events: list[str] = Field(default_factory=list)
    scope: Literal["path_people", "account"] = "path_people"
    where: EventConditionSpec | None = None
    condition: ConditionSpec | None = None
    timeout: _Wait | None = None

    _check = field_validator("timeout")(lambda v: v if v is None else _duration(v))

    @model_validator(mode="after")
    def _shape(self) -> WaitFor:
        if not self.events and self.condition is None:
            raise ValueError("wait_for needs 'events', 'condition', or both")
        return self


class Variant(Model):
    name: str
    weight: float = Field(gt=0)
    # Validation refuses a variant without ``next`` (its enrollment would end when drawn, so
    # that arm could never convert); the schema says so too. Optional here only so that the
    # validator, not pydantic, explains it.
    next: str | None = None

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True,
        json_schema_extra={"required": ["name", "weight", "next"]},
    )


class Experiment(Model):
    name: str
    variants: list[Variant] = Field(min_length=1)


class Action(Model):
    """Exactly one action per list item."""

    set: dict[str, Any] | None = None
    copy_: dict[str, str] | None = Field(default=None, alias="copy")
    clear: str | list[str] | None = None
    increase: dict[str, int | float] | None = None
    assign_csm: dict[str, Any] | None = None
    assign_playbook: str | None = None
    create_task: dict[str, Any] | None = None
    add_moment: dict[str, Any] | None = None
    set_buying_group_status: dict[str, Any] | None = None
    webhook: dict[str, Any] | None = None
    send_email: dict[str, Any] | None = None
    add_to_buying_group: dict[str, Any] | None = None
    change_score: dict[str, Any] | None = None
    add_to_campaign: dict[str, Any] | None = None

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True,
        json_schema_extra={"minProperties": 1, "maxProperties": 1},
    )

    # The one field given, found once: ``kind`` is read for every action run.
    _field: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _one(self) -> Action:
        given = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(given) != 1:
            names = ", ".join(k.rstrip("_") for k in given) or "nothing"
            raise ValueError(f"an action item holds exactly one action, found {names}")
        self._field = given[0]
        return self

    # Read for every action run: kept in the instance after the first read (a private
    # attribute goes through pydantic's __getattr__, a tenth of a step).
    @cached_property
    def kind(self) -> str:
        return self._field.rstrip("_")

    @cached_property
    def spec(self) -> Any:
        return getattr(self, self._field)


NODE_KINDS = ("do", "split", "split_people", "merge", "wait", "wait_until", "wait_for",
              "experiment", "end")


class Node(Model):
    """One node: exactly one kind, plus where to go next."""

    name: str | None = None
    description: str | None = None
    do: list[Action] | None = None
    split: list[Branch] | None = None
    split_people: list[PersonBranch] | None = None
    merge: Annotated[dict[str, Any], WithJsonSchema({"type": "object", "maxProperties": 0})] | None = None
    wait: _Wait | None = None
    wait_until: WaitUntil | None = None
    wait_for: WaitFor | None = None
    experiment: Experiment | None = None
    end: Literal[True] | None = None
    next: str | None = None
    on_timeout: str | None = None

    _check = field_validator("wait")(lambda v: v if v is None else _duration(v))

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True,
        json_schema_extra={"oneOf": [{"required": [k]} for k in NODE_KINDS]},
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Node:
        kinds = [k for k in NODE_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) or "none"
            raise ValueError(
                f"a node has exactly one kind ({', '.join(NODE_KINDS)}); found {found}"
            )
        if self.on_timeout is not None and self.wait_for is None:
            raise ValueError("'on_timeout' belongs to a wait_for node")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in NODE_KINDS if getattr(self, k) is not None)


class Journey(Model):
    id: Id
    name: str | None = None
    description: str | None = None
    version: int | None = None
    entry: Entry
    goal: Goal | None = None
    exit: Exit = Field(default_factory=Exit)
    start: str
    nodes: dict[str, Node] = Field(min_length=1)
