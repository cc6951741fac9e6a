"""The one storage interface the engine runs over, and the records only storage knows.

Adapters: ``SqlStore`` (SQLite embedded, PostgreSQL by URL). The engine never writes SQL; it
calls these methods inside ``transaction()``, one transaction per step, so a step's state change,
history, effects and timers commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from itinera.conditions.tree import Condition
from itinera.domain.model import Account, BuyingGroup, Enrollment, Event, Person

__all__ = ["AccountRecords", "Effect", "Store", "Timer"]


@dataclass
class AccountRecords:
    """Many accounts' records fetched at once (see ``Store.load_accounts``)."""

    accounts: dict[str, Account] = field(default_factory=dict)
    people: dict[str, list[Person]] = field(default_factory=dict)
    groups: dict[str, list[BuyingGroup]] = field(default_factory=dict)
    segments: dict[str, set[str]] = field(default_factory=dict)
    enrollments: dict[str, list[Enrollment]] = field(default_factory=dict)
    # The people asked for by id, found (with their accounts' records when they have one).
    persons: dict[str, Person] = field(default_factory=dict)


@dataclass(slots=True)  # a worker keeps thousands in memory
class Timer:
    id: int
    due_at: datetime
    kind: str  # wake (a token's wait or timeout) | reeval (an account's next flip)
    account: str | None = None
    enrollment: int | None = None
    token: int | None = None
    journey: str | None = None
    held: bool = False
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class Effect:
    """Something the outside world should see: an email, a webhook, a task, a campaign entry.

    ``key`` is the idempotency key: the same step replayed produces the same key, and the store
    keeps one effect per key.
    """

    key: str
    channel: str
    status: str
    at: datetime
    journey: str | None = None
    node: str | None = None
    account: str | None = None
    person: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    id: int = 0


class Store(Protocol):
    """Everything the engine reads and writes."""

    def transaction(self) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...

    def records_generation(self) -> int | None: ...  # see SqlBase.records_generation

    # workspace configuration (csms, templates, segments, journeys' lifecycle, ...)
    def config(self, kind: str) -> list[tuple[str, dict[str, Any]]]: ...

    def put_config(self, kind: str, id: str, body: dict[str, Any]) -> None: ...

    def put_journey_version(self, id: str, version: int, definition: dict[str, Any],
                            at: datetime, source: str | None = None,
                            published_by: str | None = None) -> None: ...

    def journey_versions(self) -> list[tuple[str, int, dict[str, Any]]]: ...

    def approved_contents(self, kind: str) -> set[tuple[str, str]]: ...  # (id, content hash)

    def next_value(self, key: str) -> int: ...

    # the world
    def account(self, id: str) -> Account | None: ...

    def account_ids(self) -> list[str]: ...

    def load_accounts(self, ids: Sequence[str], people: Sequence[str] = ()) -> AccountRecords:
        ...

    def save_account(self, account: Account) -> None: ...

    def person(self, id: str) -> Person | None: ...

    def people_of(self, account: str) -> list[Person]: ...

    def save_person(self, person: Person) -> None: ...

    def delete_person(self, id: str) -> None: ...

    def buying_groups_of(self, account: str) -> list[BuyingGroup]: ...

    def save_buying_group(self, group: BuyingGroup) -> None: ...

    def segments_of(self, account: str) -> set[str]: ...

    def set_membership(self, account: str, segment: str, member: bool) -> None: ...

    def segment_members(self, segment: str) -> list[str]: ...

    def fill_segment(self, segment: str, condition: Condition, now: datetime,
                     accounts: Sequence[str]) -> None: ...

    def memberships(self, accounts: Sequence[str]) -> dict[str, set[str]]: ...

    @property
    def dialect(self) -> str: ...

    def has_event(self, id: str) -> bool: ...

    def add_event(self, event: Event) -> None: ...

    def events_of(self, account: str, type: str | None = None) -> list[Event]: ...

    def csm_loads(self, pool: Sequence[str]) -> dict[str, int]: ...

    # enrollments
    def save_enrollment(self, enrollment: Enrollment) -> None: ...

    def enrollment(self, id: int) -> Enrollment | None: ...

    def active_enrollments(self, account: str) -> list[Enrollment]: ...

    def active_enrollments_of_journey(self, journey: str) -> list[Enrollment]: ...

    def last_enrollment(self, journey: str, account: str) -> Enrollment | None: ...

    def enrollments(self) -> Iterator[Enrollment]: ...

    # timers
    def add_timer(self, timer: Timer) -> None: ...

    def delete_timers(self, *, enrollment: int | None = None, account: str | None = None,
                      kind: str | None = None, ids: Iterable[int] = ()) -> None: ...

    def timers_of(self, account: str, kind: str) -> list[Timer]: ...

    def due_timers(self, until: datetime, limit: int,
                   accounts: Collection[str] | None = None) -> list[Timer]: ...

    def hold_timer(self, id: int) -> None: ...

    def held_timers(self, journey: str) -> list[Timer]: ...

    def next_due(self) -> datetime | None: ...

    # effects and history
    def add_effect(self, effect: Effect) -> None: ...

    def effects(self) -> list[Effect]: ...

    def deliveries_since(self, person: str, channel: str, since: datetime) -> int: ...

    def add_history(self, enrollment: int, at: datetime, node: str | None,
                    entry: dict[str, Any]) -> None: ...
