"""Journey analytics as typed values: node counts, summaries and the full report.

:func:`node_counts` (the live graph's numbers) and :func:`journey_summary` (the journeys list)
are cheap enough to call on every page view: a handful of grouped queries each. The full
:func:`journey_report` adds the goal timing, the per-day series and the experiments.

Definitions (docs/analytics.md says more):

* a node's **entered** counts enrollments whose path entered it, once each however often;
  **waiting** the active enrollments with a path positioned there now; **ended** the ended
  enrollments whose last node entered it was, and **dropped** those of them that left the
  journey there without reaching the goal and without completing it (unenrolled).
* the **goal conversion rate** is enrollments that reached the goal over enrollments.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from itinera.analytics import queries
from itinera.analytics.queries import Cohort
from itinera.definitions._graph import node_targets

__all__ = [
    "JourneyNotFound",
    "JourneySummary",
    "NodeCounts",
    "journey_summary",
    "node_counts",
    "node_order",
]


class JourneyNotFound(LookupError):
    """No version of the journey (or not the version asked for) was ever published."""

    def __init__(self, journey: str, version: int | None = None) -> None:
        self.journey, self.version = journey, version
        what = f"journey {journey!r}" if version is None else f"version {version} of journey {journey!r}"
        super().__init__(f"no {what} was published")


@dataclass(frozen=True)
class NodeCounts:
    """Enrollments that entered the node, are positioned there now, ended there."""

    entered: int
    waiting: int
    ended: int


@dataclass(frozen=True)
class JourneySummary:
    """A journey's enrollments by status and its goal conversion (None without a goal or
    without enrollments)."""

    journey: str
    enrolled: int
    active: int
    completed: int
    exited: int
    unenrolled: int
    has_goal: bool
    goal_reached: int
    conversion_rate: float | None


def node_order(definitions: dict[int, dict[str, Any]], version: int | None = None) -> list[str]:
    """The nodes of the journey in funnel order: breadth-first from ``start`` along each
    node's targets in the order the node names them, then unreachable nodes by id. Without
    ``version``, the latest version's nodes come first, then those only older versions have.

    The order comes from the graph, not from the stored mapping, whose key order PostgreSQL's
    JSONB does not keep."""
    versions = [version] if version is not None else sorted(definitions, reverse=True)
    order: dict[str, None] = {}
    for number in versions:
        definition = definitions[number]
        nodes = definition.get("nodes") or {}
        start = str(definition.get("start"))
        seen = {start} if start in nodes else set()
        queue = deque(seen)
        reached: list[str] = []
        while queue:
            node = queue.popleft()
            reached.append(node)
            for _, target in node_targets(nodes[node]):
                if target in nodes and target not in seen:
                    seen.add(target)
                    queue.append(target)
        order.update(dict.fromkeys(reached + sorted(set(nodes) - seen)))
    return list(order)


def _definitions(conn: sa.Connection, journey: str, version: int | None) -> dict[int, dict[str, Any]]:
    found = queries.definitions(conn, journey)
    if not found or (version is not None and version not in found):
        raise JourneyNotFound(journey, version)
    return found


def _node_counts(conn: sa.Connection, cohort: Cohort,
                 definitions: dict[int, dict[str, Any]]) -> dict[str, NodeCounts]:
    entered = queries.entered_counts(conn, cohort)
    waiting = queries.waiting_counts(conn, cohort)
    ended: dict[str, int] = {}
    for row in queries.ended_counts(conn, cohort):
        if row.node is not None:
            ended[row.node] = ended.get(row.node, 0) + row.count
    # Nodes only the data knows (a definition changed under its enrollments) are kept, last.
    names = node_order(definitions, cohort.version)
    names += sorted((set(entered) | set(waiting) | set(ended)) - set(names))
    return {n: NodeCounts(entered.get(n, 0), waiting.get(n, 0), ended.get(n, 0)) for n in names}


def node_counts(conn: sa.Connection, journey_id: str,
                version: int | None = None) -> dict[str, NodeCounts]:
    """Per node of the journey (all versions, or ``version``), in funnel order (see
    :func:`node_order`): entered, waiting now, ended there. Nodes nobody reached count 0.
    Raises :class:`JourneyNotFound` for a journey (or version) never published."""
    definitions = _definitions(conn, journey_id, version)
    return _node_counts(conn, Cohort(journey_id, version), definitions)


def _has_goal(definitions: dict[int, dict[str, Any]], version: int | None) -> bool:
    versions = [version] if version is not None else list(definitions)
    return any(definitions[v].get("goal") is not None for v in versions)


def _summary(conn: sa.Connection, cohort: Cohort, has_goal: bool) -> JourneySummary:
    outcomes = queries.outcome_counts(conn, cohort)

    def status(name: str) -> int:
        return sum(n for (s, _), n in outcomes.items() if s == name)

    enrolled = sum(outcomes.values())
    reached = sum(n for (_, goal), n in outcomes.items() if goal)
    rate = reached / enrolled if has_goal and enrolled else None
    return JourneySummary(cohort.journey, enrolled, status("active"), status("completed"),
                          status("exited"), status("unenrolled"), has_goal, reached, rate)


def journey_summary(conn: sa.Connection, journey_id: str) -> JourneySummary:
    """The journey's enrollments (all versions) by status, and its goal conversion rate.
    Raises :class:`JourneyNotFound` for a journey never published."""
    definitions = _definitions(conn, journey_id, None)
    return _summary(conn, Cohort(journey_id), _has_goal(definitions, None))
