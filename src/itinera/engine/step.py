"""One step of the engine: the world it sees, and the changes that still need settling."""

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


@dataclass(slots=True)
class Step:
    now: datetime
    world: World
    pending: dict[str, Change] = field(default_factory=dict)  # accounts to settle next round
    touched: dict[str, None] = field(default_factory=dict)  # every account the step changed

    def mark(self, account: str, event: Event | None = None) -> Change:
        """Note that ``account``'s data changed (and ``event`` happened to it)."""
        change = self.pending.setdefault(account, Change())
        if event is not None:
            change.events.append(event)
        self.touched[account] = None
        return change
