"""The impact preview of publishing a candidate version of a live journey.

Before anyone publishes: every active enrollment of the journey by version and node (one
grouped query, ``storage.impact``), and what the publish would do with each group — stay on
its version (the default), or move to a mapped node of the new version, with its waits' new
due instants — under the move plan of ``engine.moves`` (the engine's own). The API, the CLI
and the publish page show it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from itinera.definitions.models import Journey, Node
from itinera.engine.moves import MovePlan, new_due, plan_moves
from itinera.storage import queries
from itinera.storage import schema as t
from itinera.storage.impact import WaitingGroup, waiting_groups
from itinera.timeutil import format_instant, parse_duration

__all__ = ["Impact", "ImpactGroup", "impact", "parse_moves"]


def parse_moves(items: list[str]) -> dict[str, str | None]:
    """``["a=b", "c="]`` → ``{"a": "b", "c": None}`` (``c=``: c's enrollments stay)."""
    moves: dict[str, str | None] = {}
    for item in items:
        source, sep, target = item.partition("=")
        if not sep or not source.strip():
            raise ValueError(f"a move is OLD=NEW (OLD= keeps OLD's enrollments), not {item!r}")
        moves[source.strip()] = target.strip() or None
    return moves


@dataclass
class ImpactGroup:
    """One group of the preview: the paths at ``node`` of ``version`` and what happens to them."""

    version: int
    node: str
    kind: str | None  # the node's kind in its version (None: not in it, a damaged store)
    state: str
    enrollments: int
    paths: int
    shared: int
    action: str  # stay | move
    to: str | None
    reason: str | None
    entered: tuple[datetime | None, datetime | None]
    due: tuple[datetime | None, datetime | None]
    new_due: tuple[datetime | None, datetime | None] = (None, None)
    due_now: int = 0  # paths whose recomputed due instant has passed: they go on at the move

    def as_json(self) -> dict[str, Any]:
        def pair(value: tuple[datetime | None, datetime | None]) -> dict[str, str | None]:
            return {"first": format_instant(value[0]), "last": format_instant(value[1])}

        return {"version": self.version, "node": self.node, "kind": self.kind,
                "state": self.state, "enrollments": self.enrollments, "paths": self.paths,
                "shared": self.shared, "action": self.action, "to": self.to,
                "reason": self.reason, "entered": pair(self.entered), "due": pair(self.due),
                "new_due": pair(self.new_due), "due_now": self.due_now}


@dataclass
class Impact:
    journey: str
    current_version: int | None
    next_version: int
    at: datetime
    plan: MovePlan
    groups: list[ImpactGroup] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        active = sum(g.enrollments for g in self.groups)
        moving = sum(g.enrollments for g in self.groups if g.action == "move")
        return {"active": active, "moving": moving, "staying": active - moving}

    def as_json(self) -> dict[str, Any]:
        return {"journey": self.journey, "current_version": self.current_version,
                "next_version": self.next_version, "at": format_instant(self.at),
                "groups": [g.as_json() for g in self.groups],
                "mapped": dict(self.plan.mapped), "flagged": dict(self.plan.flagged),
                "problems": [{"place": p, "message": m} for p, m in self.plan.problems],
                "totals": self.totals}


def _threshold(node: Node, now: datetime) -> datetime | None:
    """The latest entry instant whose recomputed wait at ``node`` is over by ``now``."""
    if node.wait is not None:
        return now - parse_duration(node.wait)
    if node.wait_for is not None and node.wait_for.timeout is not None:
        return now - parse_duration(node.wait_for.timeout)
    return None


def impact(conn: sa.Connection, candidate: Journey, moves: Mapping[str, str | None] | None,
           matching: bool, now: datetime) -> Impact:
    """What publishing ``candidate`` now would do with the journey's active enrollments."""
    versions = {v: Journey.model_validate(d) for v, d in _definitions(conn, candidate.id).items()}
    current = queries.current_definitions(conn).get(candidate.id)
    current_version = current[0] if current is not None else None
    next_version = max(versions, default=0) + 1
    old = versions.get(current_version) if current_version is not None else None
    plan = (plan_moves(old, candidate, moves, matching) if old is not None and (moves or matching)
            else MovePlan(flagged={}))
    thresholds: dict[str, datetime] = {}
    for source, target in plan.mapped.items():
        limit = _threshold(candidate.nodes[target], now)
        if limit is not None:
            thresholds[source] = limit
    found = impact_groups(waiting_groups(conn, candidate.id, thresholds), versions,
                          current_version, candidate, plan, now)
    return Impact(candidate.id, current_version, next_version, now, plan, found)


def impact_groups(groups: list[WaitingGroup], versions: Mapping[int, Journey],
                  current: int | None, candidate: Journey, plan: MovePlan,
                  now: datetime) -> list[ImpactGroup]:
    out = []
    for group in groups:
        definition = versions.get(group.version)
        node = definition.nodes.get(group.node) if definition is not None else None
        kind = node.kind if node is not None else None
        target = plan.mapped.get(group.node) if group.version == current else None
        if target is None:
            reason = ("an older version: only the current one moves"
                      if group.version != current else plan.flagged.get(group.node, "not mapped"))
            out.append(ImpactGroup(group.version, group.node, kind, group.state,
                                   group.enrollments, group.paths, group.shared, "stay", None,
                                   reason, (group.entered_first, group.entered_last),
                                   (group.due_first, group.due_last)))
            continue
        new_node = candidate.nodes[target]
        dues = [new_due(new_node, at, now, None) if at is not None else None
                for at in (group.entered_first, group.entered_last)]
        note: str | None = ("its paths at other nodes must be mapped too" if group.shared
                            else None)
        due_now = group.entered_by if new_node.wait_until is None else (
            group.paths if dues[0] is not None and dues[0] <= now else 0)
        if new_node.wait_until is not None and new_node.wait_until.at is None:
            note = "each account's own date"
        out.append(ImpactGroup(group.version, group.node, kind, group.state,
                               group.enrollments, group.paths, group.shared, "move", target,
                               note, (group.entered_first, group.entered_last),
                               (group.due_first, group.due_last), (dues[0], dues[1]), due_now))
    return out


def _definitions(conn: sa.Connection, journey: str) -> dict[int, dict[str, Any]]:
    rows = conn.execute(sa.select(t.journeys.c.version, t.journeys.c.definition)
                        .where(t.journeys.c.id == journey))
    return {int(r.version): dict(r.definition) for r in rows}

