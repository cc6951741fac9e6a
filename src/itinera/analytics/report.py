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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from itinera.analytics import queries
from itinera.analytics.experiments import Comparison, compare
from itinera.analytics.queries import Cohort, DayRow, SkipRow
from itinera.definitions import NODE_KINDS
from itinera.definitions._graph import node_targets
from itinera.storage.tracking import node_rates

__all__ = [
    "DayRow",
    "ExperimentReport",
    "JourneyNotFound",
    "JourneyReport",
    "JourneySummary",
    "NodeCounts",
    "NodeReport",
    "SkipRow",
    "VariantReport",
    "journey_report",
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


# -- the full report -----------------------------------------------------------------------
@dataclass(frozen=True)
class NodeReport:
    """One node's funnel numbers. ``dropped``: of those that ended here, the ones unenrolled
    without having reached the goal (exit criteria, segment exit, another journey, disabled);
    ``drop_off_rate`` is dropped over entered (None when nobody entered)."""

    node: str
    kind: str | None
    entered: int
    waiting: int
    ended: int
    dropped: int
    drop_off_rate: float | None


@dataclass(frozen=True)
class VariantReport:
    """One variant: enrollments that got it, those that reached the goal and their rate
    (None without a goal); ``comparison`` with the control (None for the control itself and
    when either has no enrollments or the journey no goal)."""

    name: str
    enrolled: int
    converted: int
    rate: float | None
    control: bool
    comparison: Comparison | None


@dataclass(frozen=True)
class ExperimentReport:
    """An experiment of the journey: the node that runs it, its control (the first variant
    listed) and every variant, in the order the definition lists them."""

    name: str
    node: str | None
    control: str
    variants: list[VariantReport]


@dataclass(frozen=True)
class EmailRow:
    """A node's emails (all of the journey's, whatever the cohort): how many were delivered,
    clicked and opened by people (distinct emails; tracked links and the open pixel), the
    rates over delivered, and the hits flagged as bots' (not counted)."""

    node: str
    delivered: int
    clicked: int
    opened: int
    click_rate: float | None
    open_rate: float | None
    bot_hits: int


@dataclass(frozen=True)
class JourneyReport:
    """Everything :func:`journey_report` computes for a journey's cohort of enrollments.

    ``enrolled_from`` / ``enrolled_to`` (UTC days, inclusive) and ``version`` restrict the
    cohort when set. ``ended_on_entry`` counts enrollments that ended as they enrolled, at no
    node (they met the goal or the exit criteria already). ``median_seconds_to_goal`` is over
    the enrollments that reached the goal. ``days`` lists the UTC days on which something
    happened to the cohort. ``skips``: what the cohort's actions skipped, by node, channel and
    reason (an email to nobody, a task without an assignee, quiet hours ...)."""

    journey: str
    name: str | None
    version: int | None
    enrolled_from: date | None
    enrolled_to: date | None
    summary: JourneySummary
    ended_on_entry: int
    median_seconds_to_goal: float | None
    nodes: list[NodeReport]
    days: list[DayRow]
    experiments: list[ExperimentReport]
    skips: list[SkipRow]
    emails: list[EmailRow] = field(default_factory=list)  # per node, in funnel order


def _kinds(definitions: dict[int, dict[str, Any]]) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for number in sorted(definitions):  # the latest version's kind wins
        for node_id, node in (definitions[number].get("nodes") or {}).items():
            kind = next((k for k in NODE_KINDS if isinstance(node, dict) and k in node), None)
            if kind is not None:
                kinds[node_id] = kind
    return kinds


def _experiment_specs(definitions: dict[int, dict[str, Any]],
                      version: int | None) -> dict[str, tuple[str, list[str]]]:
    """Per experiment name, its node and variant names (latest version first; variants that
    only older versions list come after)."""
    specs: dict[str, tuple[str, list[str]]] = {}
    versions = [version] if version is not None else sorted(definitions, reverse=True)
    for number in versions:
        nodes = definitions[number].get("nodes") or {}
        for node_id in node_order({number: definitions[number]}):
            experiment = nodes[node_id].get("experiment") if isinstance(nodes[node_id], dict) else None
            if not isinstance(experiment, dict) or not isinstance(experiment.get("name"), str):
                continue
            names = [v["name"] for v in experiment.get("variants") or []
                     if isinstance(v, dict) and isinstance(v.get("name"), str)]
            known = specs.setdefault(experiment["name"], (node_id, []))[1]
            known.extend(n for n in names if n not in known)
    return specs


def _experiments(conn: sa.Connection, cohort: Cohort, definitions: dict[int, dict[str, Any]],
                 has_goal: bool) -> list[ExperimentReport]:
    rows = queries.variant_counts(conn, cohort)
    specs = _experiment_specs(definitions, cohort.version)
    for row in rows:  # an experiment or variant the definitions no longer name
        known = specs.setdefault(row.experiment, ("", []))[1]
        if row.variant not in known:
            known.append(row.variant)
    counts = {(r.experiment, r.variant): (r.converted, r.enrolled) for r in rows}
    reports = []
    for name, (node, variants) in specs.items():
        control = variants[0] if variants else ""
        baseline = counts.get((name, control), (0, 0))
        found = []
        for variant in variants:
            converted, enrolled = counts.get((name, variant), (0, 0))
            rate = converted / enrolled if has_goal and enrolled else None
            comparison = (compare(baseline, (converted, enrolled))
                          if has_goal and variant != control else None)
            found.append(VariantReport(variant, enrolled, converted, rate, variant == control,
                                       comparison))
        reports.append(ExperimentReport(name, node or None, control, found))
    return reports


def _window(enrolled_from: date | None, enrolled_to: date | None) -> tuple[datetime | None, datetime | None]:
    if enrolled_from is not None and enrolled_to is not None and enrolled_from > enrolled_to:
        raise ValueError(f"the window starts ({enrolled_from}) after it ends ({enrolled_to})")
    start = None if enrolled_from is None else datetime.combine(enrolled_from, time(), UTC)
    end = None if enrolled_to is None else datetime.combine(enrolled_to + timedelta(days=1), time(), UTC)
    return start, end


def journey_report(conn: sa.Connection, journey_id: str, *, version: int | None = None,
                   enrolled_from: date | None = None,
                   enrolled_to: date | None = None) -> JourneyReport:
    """The journey's funnel, goal conversion, per-day series and experiments, over the
    enrollments of ``version`` (default all) enrolled on the UTC days ``enrolled_from`` to
    ``enrolled_to`` inclusive (default: any day). Raises :class:`JourneyNotFound` for a journey
    (or version) never published, ValueError when the window ends before it starts."""
    definitions = _definitions(conn, journey_id, version)
    cohort = Cohort(journey_id, version, *_window(enrolled_from, enrolled_to))
    has_goal = _has_goal(definitions, version)
    counts = _node_counts(conn, cohort, definitions)
    dropped: dict[str | None, int] = {}
    ended_on_entry = 0
    for row in queries.ended_counts(conn, cohort):
        if row.node is None:
            ended_on_entry += row.count
        elif row.status == "unenrolled" and not row.goal_achieved:
            dropped[row.node] = dropped.get(row.node, 0) + row.count
    kinds = _kinds(definitions)
    nodes = [NodeReport(n, kinds.get(n), c.entered, c.waiting, c.ended, dropped.get(n, 0),
                        dropped.get(n, 0) / c.entered if c.entered else None)
             for n, c in counts.items()]
    latest = definitions[version if version is not None else max(definitions)]
    return JourneyReport(
        journey=journey_id, name=latest.get("name"), version=version,
        enrolled_from=enrolled_from, enrolled_to=enrolled_to,
        summary=_summary(conn, cohort, has_goal), ended_on_entry=ended_on_entry,
        median_seconds_to_goal=queries.median_seconds_to_goal(conn, cohort) if has_goal else None,
        nodes=nodes, days=queries.daily_counts(conn, cohort),
        experiments=_experiments(conn, cohort, definitions, has_goal),
        skips=queries.skip_counts(conn, cohort), emails=_emails(conn, journey_id, list(counts)))


def _emails(conn: sa.Connection, journey_id: str, order: list[str]) -> list[EmailRow]:
    rates = node_rates(conn, journey_id)
    ranked = {node: i for i, node in enumerate(order)}
    return [EmailRow(node, r.delivered, r.clicked, r.opened, r.click_rate, r.open_rate,
                     r.bot_hits)
            for node, r in sorted(rates.items(), key=lambda i: (ranked.get(i[0], len(ranked)),
                                                                 i[0]))]
