"""Records of the world: plain dataclasses the engine reads and changes, the store persists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "CSM",
    "Account",
    "BuyingGroup",
    "Enrollment",
    "Event",
    "Member",
    "Person",
    "Role",
    "RoleTemplate",
    "Template",
    "Token",
]

ROLE_WEIGHTS = {"trivial": 20, "minor": 40, "normal": 60, "important": 80, "vital": 100}


@dataclass
class Account:
    id: str
    attributes: dict[str, Any]
    created_at: datetime
    csm: str | None = None
    playbooks: list[str] = field(default_factory=list)
    moments: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0


@dataclass
class Person:
    id: str
    account: str | None
    email: str | None
    attributes: dict[str, Any]
    score: float = 0
    unsubscribed: bool = False
    seq: int = 0


@dataclass
class Member:
    person: str
    role: str


@dataclass
class BuyingGroup:
    account: str
    solution: str
    template: str | None
    status: str | None = None
    members: list[Member] = field(default_factory=list)
    engagement_score: float = 0.0
    completeness_score: float = 0.0
    seq: int = 0


@dataclass(frozen=True)
class Role:
    name: str
    weight: str


@dataclass(frozen=True)
class RoleTemplate:
    id: str
    roles: tuple[Role, ...]


@dataclass(frozen=True)
class CSM:
    id: str
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Template:
    id: str
    subject: str
    text: str = ""
    html: str | None = None
    preheader: str | None = None
    approved: bool = True
    track_clicks: bool | None = None  # None: as the workspace's tracking says
    track_opens: bool | None = None


@dataclass
class Event:
    id: str
    type: str
    at: datetime
    account: str | None = None
    person: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    seq: int = 0


@dataclass(slots=True)
class Token:
    """One running path of an enrollment: where it is, whom it acts on, what it waits for.

    ``forks`` is the stack of people-split forks it descends from; a merge joins the tokens that
    share the innermost fork. ``state`` is ``run`` (ready), ``wait`` (a timer will wake it),
    ``listen`` (a wait_for), or ``merge`` (arrived at a merge, waiting for its siblings).
    """

    id: int
    node: str
    people: list[str]
    forks: list[int] = field(default_factory=list)
    state: str = "run"
    timer: int | None = None
    since: datetime | None = None


@dataclass(slots=True)
class Enrollment:
    id: int
    journey: str
    version: int
    account: str
    enrolled_at: datetime
    status: str = "active"
    goal_achieved: bool = False
    goal_at: datetime | None = None
    ended_at: datetime | None = None
    reason: str | None = None
    path: list[str] = field(default_factory=list)
    variants: dict[str, str] = field(default_factory=dict)
    tokens: list[Token] = field(default_factory=list)
    next_token: int = 1
    next_fork: int = 1
    event: dict[str, Any] | None = None
    # What the store's row holds of the fields that seldom change (status, goal, end, reason,
    # variants), as read or last written (in this transaction or one committed); None when
    # there is no row. While they stay so, a save updates only the path and state.
    stored: tuple[Any, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def active(self) -> bool:
        return self.status == "active"
