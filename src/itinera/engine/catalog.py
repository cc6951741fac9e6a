"""The workspace the engine runs in, compiled once: journeys with parsed conditions, segments
in dependency order, CSMs, templates, role templates and scoring rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from itinera.conditions import TRUE, Condition, Scope, parse_condition, referenced_segments
from itinera.conditions.parse import is_clock_dependent
from itinera.definitions.models import Journey, Node
from itinera.domain.model import CSM, Role, RoleTemplate, Template
from itinera.domain.quiet_hours import QuietHours
from itinera.timeutil import parse_duration

__all__ = ["CompiledJourney", "CompiledSegment", "Workspace"]


def _condition(raw: Any, scope: Scope = Scope.ACCOUNT) -> Condition:
    return TRUE if raw is None else parse_condition(raw, scope=scope)


@dataclass
class CompiledJourney:
    """One version of one journey, with every condition parsed once."""

    definition: Journey
    version: int
    goal: Condition | None = None
    exit: Condition | None = None
    entry_where: Condition | None = None
    branch_conditions: dict[tuple[str, int], Condition] = field(default_factory=dict)
    wait_for_conditions: dict[str, Condition] = field(default_factory=dict)
    wait_for_where: dict[str, Condition] = field(default_factory=dict)
    target_conditions: dict[tuple[str, int], Condition] = field(default_factory=dict)
    reachable: dict[str, frozenset[str]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    # What time alone can flip, found once (every step asks, for its re-evaluation timer):
    # the goal and exit conditions, and the wait_for conditions by node.
    clock_conditions: list[Condition] = field(default_factory=list)
    clock_wait_for: dict[str, Condition] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.definition.id

    def node(self, node_id: str) -> Node:
        return self.definition.nodes[node_id]

    @classmethod
    def compile(cls, journey: Journey, version: int) -> CompiledJourney:
        compiled = cls(journey, version)
        compiled._compute_reachable()
        compiled.kinds = {node_id: node.kind for node_id, node in journey.nodes.items()}
        if journey.goal is not None:
            compiled.goal = _condition(journey.goal.when)
        if journey.exit.when is not None:
            compiled.exit = _condition(journey.exit.when)
        if journey.entry.event is not None and journey.entry.event.where is not None:
            compiled.entry_where = _condition(journey.entry.event.where, Scope.EVENT)
        for node_id, node in journey.nodes.items():
            for branches, scope in ((node.split, Scope.ACCOUNT), (node.split_people, Scope.PERSON)):
                for i, branch in enumerate(branches or []):
                    if branch.when is not None:
                        compiled.branch_conditions[(node_id, i)] = _condition(branch.when, scope)
            if node.wait_for is not None:
                if node.wait_for.condition is not None:
                    compiled.wait_for_conditions[node_id] = _condition(node.wait_for.condition)
                if node.wait_for.where is not None:
                    compiled.wait_for_where[node_id] = _condition(node.wait_for.where, Scope.EVENT)
            for i, action in enumerate(node.do or []):
                target = action.spec.get("to") if isinstance(action.spec, dict) else None
                if isinstance(target, dict) and "role" not in target:
                    compiled.target_conditions[(node_id, i)] = _condition(target, Scope.PERSON)
        compiled.clock_conditions = [c for c in (compiled.goal, compiled.exit)
                                     if c is not None and is_clock_dependent(c)]
        compiled.clock_wait_for = {node_id: c for node_id, c in compiled.wait_for_conditions.items()
                                   if is_clock_dependent(c)}
        return compiled

    def reaches(self, source: str, target: str) -> bool:
        """Whether a path at ``source`` can still get to ``target`` (itself included)."""
        return target in self.reachable.get(source, frozenset({source}))

    def merges_after(self, merge: str) -> list[str]:
        """The merge nodes a path can reach after leaving ``merge``."""
        node = self.definition.nodes[merge]
        start = self.reachable.get(node.next, frozenset()) if node.next else frozenset()
        return [n for n in start if self.definition.nodes[n].merge is not None]

    def _compute_reachable(self) -> None:
        edges: dict[str, set[str]] = {}
        for node_id, node in self.definition.nodes.items():
            targets = {node.next, node.on_timeout}
            for branch in (node.split or []) + (node.split_people or []):
                targets |= {branch.next, branch.else_}
            if node.experiment is not None:
                targets |= {v.next for v in node.experiment.variants}
            edges[node_id] = {t for t in targets if t is not None}
        for node_id in edges:
            seen, stack = {node_id}, [node_id]
            while stack:
                for following in edges.get(stack.pop(), ()):
                    if following not in seen:
                        seen.add(following)
                        stack.append(following)
            self.reachable[node_id] = frozenset(seen)

    def reenroll_after(self) -> timedelta | None:
        rule = self.definition.entry.reenroll
        return None if isinstance(rule, str) else parse_duration(rule.after)

    def reentry_opens(self, enrolled_at: datetime, ended_at: datetime | None) -> datetime | None:
        """From when an account whose latest enrollment in this journey began at ``enrolled_at``
        (and ended at ``ended_at``, None while active) may enter again; None for never. The
        engine's rule (an entry before it is ignored) and "Why (not)?"'s answer."""
        rule = self.definition.entry.reenroll
        if rule == "never":
            return None
        if rule == "always":
            return enrolled_at  # (while it is active, one active enrollment per journey holds)
        after = self.reenroll_after()
        assert after is not None
        return None if ended_at is None else ended_at + after


@dataclass(frozen=True)
class CompiledSegment:
    id: str
    when: Condition
    raw: dict[str, Any]
    clock_dependent: bool = False  # whether time alone can flip its membership


@dataclass
class JourneyState:
    status: str = "draft"  # draft | enabled | paused | disabled
    version: int = 0  # the version new enrollments take
    enabled_seq: int = 0  # order of enabling, which orders enrollment at one instant


@dataclass
class Workspace:
    csms: dict[str, CSM] = field(default_factory=dict)
    playbooks: list[str] = field(default_factory=list)
    templates: dict[str, Template] = field(default_factory=dict)
    role_templates: dict[str, RoleTemplate] = field(default_factory=dict)
    scoring: dict[str, float] = field(default_factory=dict)
    frequency_caps: dict[str, tuple[int, timedelta]] = field(default_factory=dict)
    quiet_hours: dict[str, QuietHours] = field(default_factory=dict)
    tracking: dict[str, tuple[bool, bool]] = field(default_factory=dict)  # channel: (clicks, opens)
    segments: list[CompiledSegment] = field(default_factory=list)  # dependency order
    versions: dict[tuple[str, int], CompiledJourney] = field(default_factory=dict)
    states: dict[str, JourneyState] = field(default_factory=dict)

    def set_segments(self, raw_segments: list[tuple[str, dict[str, Any]]]) -> None:
        """Parse segments and order them so one read by ``in_segment`` comes first."""
        parsed = {}
        for sid, raw in raw_segments:
            when = parse_condition(raw)
            parsed[sid] = CompiledSegment(sid, when, raw, is_clock_dependent(when))
        ordered: list[CompiledSegment] = []
        seen: set[str] = set()

        def visit(sid: str, trail: tuple[str, ...]) -> None:
            if sid in seen or sid not in parsed:
                return
            if sid in trail:
                raise ValueError(f"segments refer to each other in a cycle: {' -> '.join(trail)}")
            for dep in sorted(referenced_segments(parsed[sid].when)):
                visit(dep, (*trail, sid))
            seen.add(sid)
            ordered.append(parsed[sid])

        for sid, _ in raw_segments:
            visit(sid, ())
        self.segments = ordered

    def set_role_templates(self, raw: list[tuple[str, dict[str, Any]]]) -> None:
        self.role_templates = {
            tid: RoleTemplate(tid, tuple(Role(r["name"], r.get("weight", "normal"))
                                         for r in body["roles"]))
            for tid, body in raw
        }

    def current(self, journey: str) -> CompiledJourney:
        state = self.states[journey]
        return self.versions[(journey, state.version)]

    def enabled_journeys(self) -> list[CompiledJourney]:
        ids = sorted((s.enabled_seq, j) for j, s in self.states.items() if s.status == "enabled")
        return [self.current(j) for _, j in ids]
