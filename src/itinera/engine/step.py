"""One step of the engine: the world it sees, the changes that still need settling, and the
order of the events within it (all at one instant) that listening paths go by."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from itinera.domain.model import Event
from itinera.engine.world import World

__all__ = ["Change", "Step"]


@dataclass(slots=True)
class Change:
    """What happened to one account in one round: events (incl. internal ones) and segments."""

    events: list[Event] = field(default_factory=list)
    entered: list[str] = field(default_factory=list)
    exited: list[str] = field(default_factory=list)
    # Each event's place among the step's occurrences (``Step.occurred``), and the place of
    # the account's latest data change: all happen at one instant, so only this order tells
    # what a path that began listening within the step can hear.
    order: list[int] = field(default_factory=list)
    latest: int = 0

    def heard_since(self, start: int) -> list[Event]:
        """The events that happened (or were caused) from the step's ``start``-th occurrence."""
        if start <= 0:
            return self.events
        return [e for e, n in zip(self.events, self.order, strict=True) if n >= start]


@dataclass(slots=True)
class Step:
    now: datetime
    world: World
    pending: dict[str, Change] = field(default_factory=dict)  # accounts to settle next round
    touched: dict[str, None] = field(default_factory=dict)  # every account the step changed
    occurred: int = 0  # data changes and events in this step so far
    # (enrollment, token) -> ``occurred`` when that path began listening (wait_for) in this
    # step: what happened before, its own change_score among it, is not for it to hear.
    listening: dict[tuple[int, int], int] = field(default_factory=dict)

    def mark(self, account: str, event: Event | None = None) -> Change:
        """Note that ``account``'s data changed (and ``event`` happened to it)."""
        change = self.pending.setdefault(account, Change())
        change.latest = self.occurred
        self.occurred += 1
        if event is not None:
            change.events.append(event)
            change.order.append(change.latest)
        self.touched[account] = None
        return change

    def consequence(self, change: Change, event: Event) -> None:
        """Add ``event``, which the data changes of ``change`` caused (a segment entered or
        exited): it happened when the latest of them did."""
        change.events.append(event)
        change.order.append(change.latest)

    def listen(self, enrollment: int, token: int) -> None:
        """Note that a path begins listening now: it hears only what happens from here on."""
        self.listening[(enrollment, token)] = self.occurred

    def heard(self, change: Change, enrollment: int, token: int) -> list[Event]:
        """The events of ``change`` that happened while the path ``token`` was listening."""
        return change.heard_since(self.listening.get((enrollment, token), 0))
