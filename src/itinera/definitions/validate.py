"""Refuse a journey or scenario that cannot run, naming every problem at once with its place.

A problem reads ``<place>: <problem>`` and quotes the offending value
(``journeys[0].nodes.check.split[0].next: no node 'dne'``). Shape comes from the pydantic models
(``definitions.models``), validated node by node so one broken node does not hide the problems
of the others; the semantic checks (references, reachability, loops, durations, action
arguments) read the raw input, so they still run around a part that failed its shape check.

Decisions taken where the first contract was silent (what a marketing-ops user would expect;
docs/reference/journeys.md, "Validation", lists what is refused):

- Loops: a cycle of nodes is refused unless a ``wait``, ``wait_until`` or ``wait_for`` node is
  on it; a zero ``wait`` still counts as a wait.
- ``next`` on an ``end``, ``split``, ``split_people`` or ``experiment`` node is refused: those
  nodes go on through their branches (or not at all), so the ``next`` would be silently unused.
  Likewise ``on_timeout`` on a ``wait_for`` without ``timeout``, ``where`` on a ``wait_for``
  without ``events`` and ``offset`` on a ``wait_until`` with ``at``.
- ``wait``, ``timeout``, ``reenroll.after``, ``create_task.due``, scenario ``until`` and timeline
  ``at`` must not be negative (offsets may be).
- Action arguments are closed: an unknown key (a typo such as ``tempalte``) is refused, as
  every other key in the language is. Names and text arguments must be strings. ``assign_csm``
  needs ``strategy``; ``add_moment`` needs ``type``; ``webhook.method`` is GET, POST, PUT,
  PATCH or DELETE. Strings in action arguments and templates must be valid template syntax.
- ``set``/``increase``/``clear``/``copy`` write ``account.<name>`` or
  ``account.attributes.<name>``; ``increase`` takes numbers, not numeric strings or booleans.
- ``add_to_campaign.campaign`` is checked only when the workspace lists ``campaigns``.
- ``exit.unenroll_from`` may name any journey known alongside (``"*"`` for all others).
- Every experiment variant needs ``next``; in a journey with a goal it may not go straight to
  an ``end`` node. Either way the enrollment would end the instant the variant is drawn, so
  that arm (typically the control) could never convert and the reported lift would be
  meaningless; the message says how to build a control arm (docs/semantics.md).
- A scenario journey's ``publish`` on the timeline defines a journey id as well as ``journeys``
  and ``journey_files`` do, so ``enable`` may name it.
- Scenario data: an account's ``csm`` and ``playbooks`` must exist; every person in ``data``
  needs an ``account``; a segment may not depend on itself through ``in_segment``; a buying
  group without ``template`` takes the first role template (as ``add_to_buying_group`` does).
- The loader refuses a YAML key written twice (PyYAML would silently keep the last one, so a
  node defined twice would lose its first definition).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from itinera.conditions.parse import Scope
from itinera.definitions import _scenario
from itinera.definitions._graph import BRANCHING_KINDS, graph_problems
from itinera.definitions._references import (
    ALL_ACTIONS,
    Known,
    check_action,
    check_condition,
    check_non_negative,
    is_account_path,
)
from itinera.definitions._shape import Part, describe, join, plain, shape_problems
from itinera.definitions._workspace_file import with_workspace_file
from itinera.definitions.models import NODE_KINDS, Journey, Node
from itinera.definitions.scenario import Scenario, WorkspaceData
from itinera.errors import Problem
from itinera.timeutil import parse_instant

__all__ = ["LoadedScenario", "validate_journey", "validate_scenario"]


@dataclass(frozen=True)
class LoadedScenario:
    """A scenario that passed validation, with its journeys parsed, in file order."""

    scenario: Scenario
    journeys: list[Journey]
    base_dir: Path


class _JourneyTop(Journey):
    """The journey's own keys; the nodes are checked one by one, so here they stay raw."""

    nodes: dict[str, Any] = Field(min_length=1)


def validate_journey(
    raw: Any,
    place: str,
    workspace: WorkspaceData | None,
    known_journeys: Collection[str] | None = None,
) -> tuple[Journey | None, list[Problem]]:
    """The journey, or None and every problem. ``place`` prefixes each place (``journeys[0]``).

    Without ``workspace`` the references to workspace objects (segments, templates, CSMs,
    playbooks, role templates) are not checked; without ``known_journeys`` neither are the
    journeys named in ``exit.unenroll_from``.
    """
    return check_journey(raw, place, Known.from_workspace(workspace, known_journeys))


def check_journey(raw: Any, place: str, known: Known) -> tuple[Journey | None, list[Problem]]:
    """:func:`validate_journey` against already gathered ids."""
    raw = plain(raw)
    if not isinstance(raw, dict):
        return None, [Problem(place, f"a journey is a mapping of keys, got {describe(raw)}")]
    out: list[Problem] = []
    try:
        _JourneyTop.model_validate(raw)
    except ValidationError as error:
        out.extend(shape_problems(error, raw, place))
    _check_top(raw, place, known, out)
    nodes = raw.get("nodes")
    if isinstance(nodes, dict):
        for name, node in nodes.items():
            if isinstance(name, str):
                _check_node(node, join(join(place, "nodes"), name), known, out)
        named = {k: v for k, v in nodes.items() if isinstance(k, str)}
        out.extend(graph_problems(named, raw.get("start"), place))
        if raw.get("goal") is not None:
            _check_arms_reach_goal(named, join(place, "nodes"), out)
    out = list(dict.fromkeys(out))
    if out:
        return None, out
    try:
        return Journey.model_validate(raw), []
    except ValidationError as error:  # defensive: the checks above mirror the model
        return None, shape_problems(error, raw, place)


def _check_top(raw: dict[str, Any], place: str, known: Known, out: list[Problem]) -> None:
    start, nodes = raw.get("start"), raw.get("nodes")
    if isinstance(start, str) and isinstance(nodes, dict) and start not in nodes:
        out.append(Problem(join(place, "start"), f"no node {start!r}"))
    entry = raw.get("entry")
    if isinstance(entry, dict):
        here = join(place, "entry")
        segments = entry.get("segments")
        if isinstance(segments, list):
            for i, segment in enumerate(segments):
                if isinstance(segment, str) and known.segments is not None \
                        and segment not in known.segments:
                    out.append(Problem(join(join(here, "segments"), i), f"no segment {segment!r}"))
        if segments in (None, []) and entry.get("event") is None:
            out.append(Problem(here, "an entry needs 'segments', 'event' or both"))
        event = entry.get("event")
        if isinstance(event, dict):
            check_condition(event.get("where"), join(here, "event.where"), Scope.EVENT, known, out)
        reenroll = entry.get("reenroll")
        if isinstance(reenroll, dict):
            check_non_negative(reenroll.get("after"), join(here, "reenroll.after"),
                               "reenroll.after", out)
    goal = raw.get("goal")
    if isinstance(goal, dict):
        check_condition(goal.get("when"), join(place, "goal.when"), Scope.ACCOUNT, known, out)
    exit_ = raw.get("exit")
    if isinstance(exit_, dict):
        check_condition(exit_.get("when"), join(place, "exit.when"), Scope.ACCOUNT, known, out)
        others = exit_.get("unenroll_from")
        if isinstance(others, list) and known.journeys is not None:
            for i, other in enumerate(others):
                if isinstance(other, str) and other != "*" and other not in known.journeys:
                    out.append(Problem(join(join(place, "exit.unenroll_from"), i),
                                       f"no journey {other!r}"))


def _unknown_node_key(node: Any) -> Any:
    """Better words for unknown keys: an unknown node kind, an unknown action."""

    def hook(parts: list[Part]) -> str | None:
        if len(parts) == 1 and isinstance(node, dict) and not any(k in node for k in NODE_KINDS):
            return f"unknown node kind {parts[0]!r} (known: {', '.join(NODE_KINDS)})"
        if len(parts) == 3 and parts[0] == "do" and isinstance(parts[1], int):
            return f"unknown action {parts[2]!r} (known: {', '.join(sorted(ALL_ACTIONS))})"
        return None

    return hook


def _check_node(node: Any, here: str, known: Known, out: list[Problem]) -> None:
    if not isinstance(node, dict):
        out.append(Problem(here, f"a node is a mapping such as {{wait: 3d, next: ...}}, "
                                 f"got {describe(node)}"))
        return
    try:
        Node.model_validate(node)
    except ValidationError as error:
        out.extend(shape_problems(error, node, here, _unknown_node_key(node)))
    kinds = [k for k in NODE_KINDS if k in node]
    if len(kinds) == 1 and kinds[0] in BRANCHING_KINDS and "next" in node:
        why = ("an end node has no 'next' (its path ends there)" if kinds[0] == "end" else
               f"a {kinds[0]} node does not use 'next' (its branches say where to go)")
        out.append(Problem(join(here, "next"), f"{why}, got {node['next']!r}"))
    for kind, scope in (("split", Scope.ACCOUNT), ("split_people", Scope.PERSON)):
        branches = node.get(kind)
        if isinstance(branches, list):
            for i, branch in enumerate(branches):
                if isinstance(branch, dict):
                    check_condition(branch.get("when"), f"{join(here, kind)}[{i}].when", scope,
                                    known, out)
    actions = node.get("do")
    if isinstance(actions, list):
        for i, item in enumerate(actions):
            check_action(item, join(join(here, "do"), i), known, out)
    check_non_negative(node.get("wait"), join(here, "wait"), "wait", out)
    _check_waits(node, here, known, out)
    _check_experiment(node.get("experiment"), join(here, "experiment"), out)
    merge = node.get("merge")
    if isinstance(merge, dict):
        for key in merge:
            out.append(Problem(join(join(here, "merge"), str(key)),
                               f"unknown key {key!r} (a merge takes no options: merge: {{}})"))


def _check_waits(node: dict[str, Any], here: str, known: Known, out: list[Problem]) -> None:
    until = node.get("wait_until")
    if isinstance(until, dict):
        date = until.get("date")
        if isinstance(date, str) and not is_account_path(date):
            out.append(Problem(join(here, "wait_until.date"),
                               f"expected 'account.<attribute>', got {date!r}"))
        at = until.get("at")
        if isinstance(at, str):
            try:
                parse_instant(at)
            except ValueError as error:
                out.append(Problem(join(here, "wait_until.at"), str(error)))
            if until.get("offset") is not None:
                out.append(Problem(join(here, "wait_until.offset"),
                                   "an offset goes with 'date', not with 'at'"))
    wait_for = node.get("wait_for")
    if isinstance(wait_for, dict):
        check_condition(wait_for.get("condition"), join(here, "wait_for.condition"), Scope.ACCOUNT,
                        known, out)
        check_condition(wait_for.get("where"), join(here, "wait_for.where"), Scope.EVENT,
                        known, out)
        if wait_for.get("where") is not None and not wait_for.get("events"):
            out.append(Problem(join(here, "wait_for.where"),
                               "'where' filters the 'events' to wait for, and none are given"))
        check_non_negative(wait_for.get("timeout"), join(here, "wait_for.timeout"), "timeout", out)
        if isinstance(node.get("on_timeout"), str) and wait_for.get("timeout") is None:
            out.append(Problem(join(here, "on_timeout"), "never taken: the wait_for has no "
                                                         f"'timeout', got {node['on_timeout']!r}"))


# How to build a control arm, told wherever a variant's path would end at once.
_CONTROL_ARM = ("; an arm that ends there can never reach the goal, so its conversion and "
                "the experiment's lift mean nothing. For a control (or holdout) arm that gets "
                "no treatment, point 'next' at the node where the other variants' paths go on "
                "(e.g. the wait before the goal can be met), or at a node that does nothing and "
                "joins them, such as {wait: 3d, next: <that node>}")


def _check_experiment(experiment: Any, here: str, out: list[Problem]) -> None:
    variants = experiment.get("variants") if isinstance(experiment, dict) else None
    if not isinstance(variants, list):
        return
    seen: set[str] = set()
    for i, variant in enumerate(variants):
        name = variant.get("name") if isinstance(variant, dict) else None
        if isinstance(name, str):
            if name in seen:
                out.append(Problem(f"{here}.variants[{i}].name", f"duplicate variant {name!r}"))
            seen.add(name)
        if isinstance(variant, dict) and variant.get("next") is None:
            out.append(Problem(f"{here}.variants[{i}].next",
                               f"variant {name!r} has no 'next': the enrollment would end as "
                               f"soon as it is drawn{_CONTROL_ARM}"))


def _check_arms_reach_goal(nodes: dict[str, Any], here: str, out: list[Problem]) -> None:
    """In a journey with a goal, a variant that goes straight to an ``end`` node ends the
    enrollment when drawn: its arm can never convert (a variant without ``next`` is refused
    by ``_check_experiment``, goal or not)."""
    for name, node in nodes.items():
        experiment = node.get("experiment") if isinstance(node, dict) else None
        variants = experiment.get("variants") if isinstance(experiment, dict) else None
        for i, variant in enumerate(variants if isinstance(variants, list) else []):
            target = variant.get("next") if isinstance(variant, dict) else None
            if isinstance(target, str) and isinstance(nodes.get(target), dict) \
                    and "end" in nodes[target]:
                out.append(Problem(
                    f"{join(join(here, name), 'experiment.variants')}[{i}].next",
                    f"variant {variant.get('name')!r} goes to the end node {target!r}, which "
                    f"ends the enrollment as soon as the variant is drawn{_CONTROL_ARM}"))


def validate_scenario(raw: Any, base_dir: Path) -> tuple[LoadedScenario | None, list[Problem]]:
    """The scenario with its journeys, or None and every problem.

    ``journey_files`` and ``workspace`` are read relative to ``base_dir``; their problems are
    placed under the file name as written (``onboarding.yaml: nodes.x.next``). The workspace
    file's items come before ``data``'s, which may only add to them (``_workspace_file``).
    """
    raw = plain(raw)
    if not isinstance(raw, dict):
        return None, [Problem("", f"a scenario is a mapping of keys, got {describe(raw)}")]
    first: list[Problem] = []  # the workspace file's own, placed already
    raw, merged = with_workspace_file(raw, base_dir, first)
    out: list[Problem] = []
    try:
        Scenario.model_validate({k: v for k, v in raw.items() if k != "journeys"})
    except ValidationError as error:
        out.extend(shape_problems(error, raw, ""))
    sources = _scenario.journey_sources(raw, base_dir, out)
    ids = _scenario.journey_ids(raw, sources)
    known = Known.from_raw(raw.get("data"), ids)
    journeys: list[Journey] = []
    for source in sources:
        journey, problems = check_journey(source.raw, source.place, known)
        out.extend(source.relocate(p) for p in problems)
        if journey is not None:
            journeys.append(journey)
    _scenario.check_scenario(raw, sources, known, out, lambda j, p: check_journey(j, p, known)[1])
    out = list(dict.fromkeys([*first, *(merged.relocate(p) for p in out)]))
    if out:
        return None, out
    return LoadedScenario(Scenario.model_validate(raw), journeys, base_dir), []
