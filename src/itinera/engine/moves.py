"""Moving in-flight enrollments to a newly published version (docs/reference/journeys.md,
"Publishing a new version: in-flight enrollments").

``plan_moves`` decides, from the two definitions and the user's move map, which node of the
old version maps to which node of the new one (and which are flagged, with why); the preview,
the checks of an input and the engine share it. ``apply_moves`` carries a plan out in one step
of the engine: each enrollment of the old version whose every waiting path is at a mapped node
goes over, its waits recomputed from when it entered the node.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from itinera.definitions.models import Journey, Node
from itinera.domain.model import Token
from itinera.timeutil import format_instant, parse_data_instant, parse_duration, parse_instant

if TYPE_CHECKING:
    from itinera.domain.model import Account
    from itinera.engine.core import EngineCore
    from itinera.engine.step import Step

__all__ = ["PARKING", "MovePlan", "apply_moves", "new_due", "plan_moves"]

# Where a path can be between steps: waiting on a timer, listening, or at a merge.
PARKING = ("wait", "wait_until", "wait_for", "merge")
_WAITING = ("wait", "wait_until", "wait_for")


def _kinds(journey: Journey) -> dict[str, str]:
    return {node_id: node.kind for node_id, node in journey.nodes.items()}


def _fits(old_kind: str, new_kind: str) -> bool:
    """A waiting path may go to any waiting node; a path at a merge only to a merge."""
    if old_kind == "merge":
        return new_kind == "merge"
    return old_kind in _WAITING and new_kind in _WAITING


@dataclass
class MovePlan:
    """``mapped``: old node → new node for the paths that move. ``flagged``: the old version's
    parking nodes that are not mapped, each with why (its paths stay on the old version).
    ``problems``: the user's entries that cannot be carried out, by place (``moves.<node>``)."""

    mapped: dict[str, str] = field(default_factory=dict)
    flagged: dict[str, str] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.mapped


def plan_moves(old: Journey, new: Journey, moves: Mapping[str, str | None] | None,
               matching: bool) -> MovePlan:
    """The plan of moving from ``old`` to ``new``: the user's ``moves`` first (a null target
    keeps that node's enrollments where they are), then, with ``matching``, every parking node
    of ``old`` whose id names a node of a fitting kind in ``new``."""
    plan = MovePlan()
    old_kinds, new_kinds = _kinds(old), _kinds(new)
    given = dict(moves or {})
    for source, target in given.items():
        place = f"moves.{source}"
        if source not in old_kinds:
            plan.problems.append((place, f"no node {source!r} in the version being replaced"))
        elif old_kinds[source] not in PARKING:
            plan.problems.append((place, f"{source!r} is a {old_kinds[source]} node: no "
                                         "enrollment waits there (only at wait, wait_until, "
                                         "wait_for and merge nodes)"))
        elif target is None:
            plan.flagged[source] = "kept on the old version"
        elif target not in new_kinds:
            plan.problems.append((place, f"no node {target!r} in the new version"))
            plan.flagged[source] = plan.problems[-1][1]
        elif not _fits(old_kinds[source], new_kinds[target]):
            where = ("a merge goes to a merge" if "merge" in (old_kinds[source], new_kinds[target])
                     else "it moves to a wait, wait_until or wait_for")
            plan.problems.append((place, f"a path at the {old_kinds[source]} node {source!r} "
                                         f"cannot move to the {new_kinds[target]} node "
                                         f"{target!r} ({where})"))
            plan.flagged[source] = plan.problems[-1][1]
        else:
            plan.mapped[source] = target
    for source, kind in old_kinds.items():
        if kind not in PARKING or source in given:
            continue
        if matching and source in new_kinds and _fits(kind, new_kinds[source]):
            plan.mapped[source] = source
        elif source not in new_kinds:
            plan.flagged[source] = "removed in the new version"
        elif source in new_kinds and not _fits(kind, new_kinds[source]):
            plan.flagged[source] = f"a {new_kinds[source]} node in the new version"
        else:
            plan.flagged[source] = "not mapped"
    return plan


def _entered(token: Token, old: Node, due: datetime | None, now: datetime) -> datetime:
    """When the path entered its node. Paths store it (``since``); a path that began waiting
    before they did is read from its timer (a ``wait``), or taken as the move instant."""
    if token.since is not None:
        return token.since
    if old.wait is not None and due is not None:
        return due - parse_duration(old.wait)
    return now


def new_due(node: Node, entered: datetime, now: datetime,
            account: Account | None) -> datetime | None:
    """When a path that entered ``node`` at ``entered`` is due there, at the earliest ``now``:
    a wait's end, a wait_until's instant, a wait_for's timeout (None: no timeout). A wait_until
    whose date is missing or not a date goes on at once, as on arrival."""
    due: datetime | None
    if node.wait is not None:
        due = entered + parse_duration(node.wait)
    elif node.wait_until is not None:
        spec = node.wait_until
        if spec.at is not None:
            due = parse_instant(spec.at)
        elif account is None:
            return None
        else:
            assert spec.date is not None
            name = spec.date.split(".", 1)[1].removeprefix("attributes.")
            raw = account.created_at if name == "created_at" else account.attributes.get(name)
            due = parse_data_instant(raw)
            if due is None:
                return now
        if spec.offset:
            due += parse_duration(spec.offset)
    elif node.wait_for is not None:
        if node.wait_for.timeout is None:
            return None
        due = entered + parse_duration(node.wait_for.timeout)
    else:
        return None
    return max(due, now)


def apply_moves(engine: EngineCore, step: Step, journey_id: str, old_version: int,
                new_version: int, plan: MovePlan) -> int:
    """Move, in ``step``, every active enrollment of ``journey_id`` on ``old_version`` whose
    waiting paths all stand at mapped nodes; returns how many moved. Enrollments on the new
    version already (a move replayed) are not among them: a move never happens twice."""
    from itinera.engine.paths import PathRunner  # paths imports the core, as this module may

    if plan.empty:
        return 0
    world = step.world
    old = engine.workspace.versions[(journey_id, old_version)]
    new = engine.workspace.versions[(journey_id, new_version)]
    world.flush()  # the store's list must see enrollments made earlier in the batch
    candidates = sorted((e for e in engine.store.active_enrollments_of_journey(journey_id)
                         if e.version == old_version), key=lambda e: e.id)
    world.prefetch(sorted({e.account for e in candidates}))
    moved = 0
    for found in candidates:
        enrollment = next((e for e in world.enrollments(found.account) if e.id == found.id),
                          found)
        if not enrollment.active or enrollment.version != old_version or not enrollment.tokens:
            continue
        if any(k.node not in plan.mapped or k.state not in ("wait", "listen", "merge")
               for k in enrollment.tokens):
            continue  # all its paths go, or none: one enrollment runs one version
        account = world.account(enrollment.account)
        if account is None:
            continue
        timers = {t.id: t.due_at for t in engine.store.timers_of(account.id, "wake")
                  if t.enrollment == enrollment.id}
        runner = PathRunner(engine, step, new, enrollment, account)
        for token in enrollment.tokens:
            source, target = token.node, plan.mapped[token.node]
            entered = _entered(token, old.node(source), timers.get(token.timer or -1), step.now)
            if token.timer is not None:
                engine.store.delete_timers(ids=[token.timer])
                token.timer = None
            node = new.node(target)
            token.node = target
            due: datetime | None = None
            if node.merge is not None:
                token.state, token.since = "merge", None
            else:
                due = new_due(node, entered, step.now, account)
                token.since = entered
                if node.wait_for is not None:
                    token.state = "listen"
                    step.listen(enrollment.id, token.id)
                    if due is not None:
                        runner.set_timer(token, due, "timeout")
                else:
                    token.state = "wait"
                    runner.set_timer(token, step.now if due is None else due, "wait")
            if target != source:
                enrollment.path.append(target)
            engine.history(enrollment.id, step.now, target, {
                "event": "moved", "from": {"version": old_version, "node": source},
                "to": {"version": new_version, "node": target},
                "entered": format_instant(entered), "due": format_instant(due)})
        enrollment.version = new_version
        world.touch_enrollment(enrollment)
        # Its goal, exit and listening conditions are now the new version's: checked in this
        # step, as after any change (the account is marked changed, with no event).
        step.mark(account.id)
        if any(k.state == "merge" for k in enrollment.tokens):
            runner.run()  # a merge whose paths are all here goes on
        moved += 1
    return moved

