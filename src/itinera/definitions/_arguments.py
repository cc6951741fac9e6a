"""The arguments of every action, typed: the source of the JSON Schema's actions and of the
keys ``definitions._references`` accepts.

Journeys keep action arguments as plain mappings (the engine reads them so); these models only
describe them. Validation reads its tables of allowed and required keys from here, so the schema
an editor checks against and ``itinera validate`` cannot disagree on which keys exist.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from itinera.definitions.models import (
    CONDITION_MARKER,
    NON_NEGATIVE_DURATION_PATTERN,
    Model,
)

__all__ = ["ACCOUNT_PATH_PATTERN", "ARGUMENT_MODELS", "ActionArguments", "argument_keys"]

ACCOUNT_PATH_PATTERN = r"^account\.(attributes\.)?[^.\s]+$"
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

AccountPath = Annotated[str, Field(pattern=ACCOUNT_PATH_PATTERN, examples=["account.plan"])]
# The validator accepts a method in any case; JSON Schema's regular expressions have no flags.
_Method = Annotated[str, WithJsonSchema({
    "type": "string", "examples": list(_METHODS),
    "pattern": "^(" + "|".join("".join(f"[{c}{c.lower()}]" for c in m) for m in _METHODS) + ")$",
})]
_Due = Annotated[str, WithJsonSchema({"type": "string", "pattern": NON_NEGATIVE_DURATION_PATTERN,
                                      "examples": ["2d"]})]
# `to:` of a people action: path_people | all | {role: R} | a condition on person.* .
Target = Annotated[Any, WithJsonSchema({"anyOf": [
    {"enum": ["path_people", "all"]},
    {"type": "object", "properties": {"role": {"type": "string"}}, "required": ["role"],
     "additionalProperties": False},
    {"type": "object", CONDITION_MARKER: "person"},
]})]


# Pydantic writes a constrained key as ``patternProperties``, which alone admits other keys.
_ONLY_ACCOUNT_PATHS: dict[str, Any] = {"additionalProperties": False}


class AssignCsm(Model):
    strategy: Literal["round_robin", "least_loaded", "fixed"]
    pool: list[str] | None = None
    csm: str | None = None


class CreateTask(Model):
    title: str
    assignee: str | None = Field(default=None, examples=["csm"])
    due: _Due | None = None
    notes: str | None = None


class AddMoment(Model):
    type: str = Field(examples=["Milestone"])
    description: str | None = None


class SetBuyingGroupStatus(Model):
    solution: str
    status: str


class Webhook(Model):
    url: str
    method: _Method | None = None
    body: Any = None


class SendEmail(Model):
    template: str
    to: Target = None


class AddToBuyingGroup(Model):
    solution: str
    role: str
    template: str | None = None
    to: Target = None


class ChangeScore(Model):
    by: float
    to: Target = None


class AddToCampaign(Model):
    campaign: str
    to: Target = None


class Copy(Model):
    from_: AccountPath = Field(alias="from")
    to: AccountPath


class ActionArguments(Model):
    """One field per action, typed as its arguments (the schema of ``Action``'s properties)."""

    set: dict[AccountPath, Any] = Field(json_schema_extra=_ONLY_ACCOUNT_PATHS)
    copy_: Copy = Field(alias="copy")
    clear: AccountPath | list[AccountPath]
    increase: dict[AccountPath, float] = Field(json_schema_extra=_ONLY_ACCOUNT_PATHS)
    assign_csm: AssignCsm
    assign_playbook: str
    create_task: CreateTask
    add_moment: AddMoment
    set_buying_group_status: SetBuyingGroupStatus
    webhook: Webhook
    send_email: SendEmail
    add_to_buying_group: AddToBuyingGroup
    change_score: ChangeScore
    add_to_campaign: AddToCampaign


# The actions whose arguments are a mapping of named keys.
ARGUMENT_MODELS: dict[str, type[Model]] = {
    "assign_csm": AssignCsm,
    "create_task": CreateTask,
    "add_moment": AddMoment,
    "set_buying_group_status": SetBuyingGroupStatus,
    "webhook": Webhook,
    "send_email": SendEmail,
    "add_to_buying_group": AddToBuyingGroup,
    "change_score": ChangeScore,
    "add_to_campaign": AddToCampaign,
    "copy": Copy,
}


def argument_keys(model: type[Model]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The keys an action's mapping may hold, and those it must hold, as written in a file."""
    fields = model.model_fields
    names = {name: field.alias or name for name, field in fields.items()}
    required = tuple(names[n] for n, field in fields.items() if field.is_required())
    return frozenset(names.values()), required
