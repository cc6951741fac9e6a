"""Scenario files (docs/reference/scenarios.md) and the workspace data they carry, as pydantic models."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from itinera.definitions.models import ConditionSpec, Duration, Id, Model
from itinera.domain.quiet_hours import WEEKDAYS, zone

__all__ = [
    "AccountData",
    "AccountUpsertData",
    "BuyingGroupData",
    "CSMData",
    "Expectation",
    "FrequencyCap",
    "MemberData",
    "PersonData",
    "QuietHoursData",
    "RoleData",
    "RoleTemplateData",
    "Scenario",
    "ScenarioData",
    "SegmentData",
    "TemplateData",
    "TimelineEntry",
    "WorkspaceData",
]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TIME_OF_DAY = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


class CSMData(Model):
    id: str
    name: str | None = None
    email: str | None = None


class RoleData(Model):
    name: str
    weight: Literal["trivial", "minor", "normal", "important", "vital"] = "normal"


class RoleTemplateData(Model):
    id: str
    roles: list[RoleData] = Field(min_length=1)


class AccountData(Model):
    id: str = Field(min_length=1)
    attributes: dict[str, Any] = Field(default_factory=dict)
    csm: str | None = None
    created_at: str | None = None
    playbooks: list[str] = Field(default_factory=list)


class AccountUpsertData(AccountData):
    """An ``upsert_account`` input: the account, and the ``people`` (ids) linked to it in the
    same step (created when unknown), so that its segments and entries see them at once."""

    people: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)


class PersonData(Model):
    id: str = Field(min_length=1)
    account: str | None = None
    email: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    unsubscribed: bool = False
    score: float = 0

    @field_validator("email")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        # Loose on purpose (RFC 5322 allows much): one @, something either side, no spaces.
        if value is not None and not _EMAIL.fullmatch(value):
            raise ValueError(f"not an email address: {value!r}")
        return value


class MemberData(Model):
    person: str
    role: str


class BuyingGroupData(Model):
    account: str
    solution: str
    template: str | None = None
    status: str | None = None
    members: list[MemberData] = Field(default_factory=list)


class SegmentData(Model):
    id: Id
    name: str | None = None
    when: ConditionSpec


class TemplateData(Model):
    id: str
    subject: str
    preheader: str | None = None
    text: str = ""
    html: str | None = None
    approved: bool = True
    # Tracking of this template's emails; unset: as the workspace's ``tracking`` says.
    track_clicks: bool | None = None
    track_opens: bool | None = None


class TrackingData(Model):
    """Whether emails' links are tracked (``clicks``) and carry an open pixel (``opens``)."""

    clicks: bool = False
    opens: bool = False


class ApprovalData(Model):
    """The approval workflow (``approval:``): which content needs an approved review before it
    is sent or published, and whether its approver must be someone else (four eyes). Under
    it, a template's ``approved`` in the file is ignored."""

    templates: bool = False
    journeys: bool = False
    four_eyes: bool = False


class FrequencyCap(Model):
    """At most ``max`` deliveries to one person within any ``per`` (e.g. 3 per 7d)."""

    max: int = Field(ge=0)
    per: Duration




class QuietHoursData(Model):
    """Local times at which email waits (or is skipped): ``start``–``end`` daily, wrapping past
    midnight when ``end`` is earlier, and whole ``days``; read in the account's time zone."""

    start: str = Field(examples=["21:00"])
    end: str = Field(examples=["08:00"])
    days: list[Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                       "sunday"]] = Field(default_factory=list)
    time_zone: str = "UTC"  # for accounts without a (valid) zone of their own
    time_zone_attribute: str = "time_zone"
    then: Literal["defer", "skip"] = "defer"

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time_of_day(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 read 21:00 as 1260
            raise ValueError(f"a time of day as \"HH:MM\", in quotes: YAML reads "
                             f"{value // 60}:{value % 60:02d} unquoted as the number {value}")
        if not isinstance(value, str) or not _TIME_OF_DAY.fullmatch(value):
            raise ValueError(f"a time of day as \"HH:MM\" (00:00 to 23:59), got {value!r}")
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if zone(value) is None:
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Paris)")
        return value

    @model_validator(mode="after")
    def _ends(self) -> QuietHoursData:
        if len(set(self.days)) == len(WEEKDAYS):
            raise ValueError("every day is quiet: nothing could ever be sent")
        return self


class WorkspaceData(Model):
    """Configuration shared by journeys: who the CSMs are, what templates exist, and so on."""

    csms: list[CSMData] = Field(default_factory=list)
    playbooks: list[str] = Field(default_factory=list)
    campaigns: list[str] | None = None
    role_templates: list[RoleTemplateData] = Field(default_factory=list)
    scoring: dict[str, float] = Field(default_factory=dict)
    segments: list[SegmentData] = Field(default_factory=list)
    templates: list[TemplateData] = Field(default_factory=list)
    frequency_caps: dict[Literal["email"], FrequencyCap] = Field(default_factory=dict)
    quiet_hours: dict[Literal["email"], QuietHoursData] = Field(default_factory=dict)
    tracking: dict[Literal["email"], TrackingData] = Field(default_factory=dict)
    approval: ApprovalData | None = None


class ScenarioData(WorkspaceData):
    accounts: list[AccountData] = Field(default_factory=list)
    people: list[PersonData] = Field(default_factory=list)
    buying_groups: list[BuyingGroupData] = Field(default_factory=list)


class EventData(Model):
    id: str | None = None
    type: str = Field(min_length=1)
    account: str | None = None
    person: str | None = None
    at: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _owner(self) -> EventData:
        if self.account is None and self.person is None:
            raise ValueError("an event belongs to an 'account' or a 'person'")
        return self


class AddToBuyingGroupData(Model):
    account: str
    solution: str
    person: str
    role: str
    template: str | None = None


TIMELINE_KINDS = ("enable", "disable", "pause", "resume", "publish", "event", "upsert_account",
                  "upsert_person", "delete_person", "add_to_buying_group")


class TimelineEntry(Model):
    at: Duration = "0s"
    enable: str | None = None
    disable: str | None = None
    pause: str | None = None
    resume: str | None = None
    publish: dict[str, Any] | None = None
    # With ``publish``: move in-flight enrollments of the version it replaces (old node → new
    # node; null keeps that node's), and with ``move_matching`` every node of the same id
    # (docs/reference/journeys.md, "Publishing a new version: in-flight enrollments").
    moves: dict[str, str | None] | None = None
    move_matching: bool = False
    # With ``publish``: the text it was published from and who published it (an actor's
    # label), kept with the version for its history and diffs (docs/studio.md).
    source: str | None = Field(default=None, max_length=2 * 1024 * 1024)
    by: str | None = Field(default=None, max_length=200)
    event: EventData | None = None
    upsert_account: AccountUpsertData | None = None
    upsert_person: PersonData | None = None
    delete_person: str | None = None
    add_to_buying_group: AddToBuyingGroupData | None = None

    @model_validator(mode="after")
    def _one(self) -> TimelineEntry:
        kinds = [k for k in TIMELINE_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                f"a timeline entry holds exactly one of {', '.join(TIMELINE_KINDS)}; "
                f"found {', '.join(kinds) or 'none'}"
            )
        if (self.moves is not None or self.move_matching) and kinds != ["publish"]:
            raise ValueError("'moves' and 'move_matching' go with 'publish'")
        if (self.source is not None or self.by is not None) and kinds != ["publish"]:
            raise ValueError("'source' and 'by' go with 'publish'")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in TIMELINE_KINDS if getattr(self, k) is not None)


class Expectation(Model):
    journey: str | None = None
    account: str | None = None
    version: int | None = None  # the version the enrollment is on (a move changes it)
    status: Literal["active", "completed", "exited", "unenrolled"] | None = None
    goal_achieved: bool | None = None
    reason: str | None = None
    path: list[str] | None = None
    variants: dict[str, str] | None = None
    count: int | None = None


class Scenario(Model):
    start: str
    until: Duration = "30d"
    # A workspace file (relative to the scenario's folder) whose items come before ``data``'s;
    # ``data`` may add to it, never change it (docs/semantics.md).
    workspace: str | None = None
    data: ScenarioData = Field(default_factory=ScenarioData)
    journeys: list[dict[str, Any]] = Field(default_factory=list)
    journey_files: list[str] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    expect: list[Expectation] = Field(default_factory=list)
