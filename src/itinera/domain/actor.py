"""Who did something: the person or key behind a change, for the audit log, reviews and version
history. Pure data; the API and the UI's access checks make one per request
(``api.auth.actor_of``), the CLI one for its operator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Actor", "ActorKind"]

ActorKind = Literal["user", "key", "cli", "system"]


@dataclass(frozen=True)
class Actor:
    """``kind`` and ``id`` name it (a user's or a key's id; the operating-system user for the
    CLI); ``name`` is what to show; ``address`` is where the request came from, if over HTTP."""

    kind: ActorKind
    id: str
    name: str
    address: str | None = None

    @property
    def label(self) -> str:
        """``user:ana``, ``key:segment-website``, ``cli:root``."""
        return f"{self.kind}:{self.name}"
