"""The one exception tree of Itinera.

Every error the library raises on purpose derives from :class:`ItineraError`, so an application
can catch them all in one place. Validation errors carry every problem at once, each with the
place in the input it concerns.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DefinitionError", "ItineraError", "Problem", "StoreError"]


class ItineraError(Exception):
    """Base of every error Itinera raises on purpose."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input, at a place such as ``journeys[0].nodes.check.next``."""

    place: str
    message: str

    def __str__(self) -> str:
        return f"{self.place}: {self.message}" if self.place else self.message

    def in_file(self, file: object) -> str:
        """``<file>: <place>: <message>``; a problem of reading the file (``<file>:<line>``)
        names it already."""
        name = str(file)
        if self.place == name or self.place.startswith(f"{name}:"):
            return str(self)
        return f"{name}: {self}"


class DefinitionError(ItineraError):
    """A journey, scenario or workspace definition that cannot run; lists every problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class StoreError(ItineraError):
    """The store refused an operation (unknown record, conflicting write)."""
