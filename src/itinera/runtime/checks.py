"""Checks on inputs before they are stored, beyond their shape, so that nothing stored can fail
when the worker applies it: every value must be one the stores hold (``jsonvalues``), instants
must parse, a journey to publish must be valid (its
references checked against the workspace), a lifecycle command must name a known journey and
a buying-group member a known account and person. "Known" counts what is stored, what waits in
the inbox and what comes earlier in the same request.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from itinera.definitions._references import Known
from itinera.definitions._scenario import check_workspace
from itinera.definitions._shape import shape_problems
from itinera.definitions.models import Journey
from itinera.definitions.scenario import ScenarioData, TimelineEntry, WorkspaceData
from itinera.definitions.validate import validate_journey
from itinera.domain.journey_status import after, refusal
from itinera.engine.commands import PUBLISH_EXTRAS
from itinera.engine.moves import plan_moves
from itinera.errors import Problem
from itinera.jsonvalues import value_problems
from itinera.storage import queries, reviews
from itinera.timeutil import parse_instant

__all__ = ["LIFECYCLE", "Refs", "check_instant", "input_problems"]

LIFECYCLE = ("enable", "pause", "resume", "disable")
_SERVICE_KINDS: dict[str, type[WorkspaceData]] = {"configure": WorkspaceData,
                                                  "load_world": ScenarioData}


def check_instant(value: Any, place: str, out: list[Problem]) -> None:
    if value is not None:
        try:
            parse_instant(value)
        except ValueError as error:
            out.append(Problem(place, str(error)))


class Refs:
    """What exists, read once per request and grown by the request's own inputs."""

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.accounts: set[str] = set()
        self.people: set[str] = set()
        self._statuses: dict[str, str] | None = None
        self._raw_workspace: dict[str, Any] | None = None
        self._workspace: WorkspaceData | None = None

    def prefetch(self, accounts: set[str], people: set[str]) -> None:
        self.accounts |= queries.known_accounts(self.connection, accounts - self.accounts)
        self.people |= queries.known_people(self.connection, people - self.people)

    @property
    def journeys(self) -> set[str]:
        return set(self.statuses)

    @property
    def statuses(self) -> dict[str, str]:
        """Each journey's status once the inbox and this request's inputs so far apply."""
        if self._statuses is None:
            self._statuses = queries.journey_statuses(self.connection)
        return self._statuses

    def _raw(self) -> dict[str, Any]:
        if self._raw_workspace is None:
            self._raw_workspace = queries.workspace_data(self.connection)
        return self._raw_workspace

    @property
    def workspace(self) -> WorkspaceData:
        if self._workspace is None:
            self._workspace = WorkspaceData.model_validate(self._raw())
        return self._workspace

    def configure(self, data: dict[str, Any]) -> None:
        """Count the ids of workspace data configured earlier in the request."""
        for name, items in self._raw().items():
            items.extend(data.get(name, []))
        self._workspace = None

    def check_moves(self, raw: dict[str, Any], moves: dict[str, str | None] | None,
                    matching: bool, place: str, out: list[Problem]) -> None:
        """Check a move map against the journey's version it would replace (as stored now)."""
        current = queries.current_definitions(self.connection).get(raw["id"])
        if current is None:
            out.append(Problem(f"{place}.moves", f"journey {raw['id']!r} has no published "
                                                 "version whose enrollments could move"))
            return
        plan = plan_moves(Journey.model_validate(current[1]), Journey.model_validate(raw),
                          moves, matching)
        out.extend(Problem(f"{place}.{where}", message) for where, message in plan.problems)

    def check_journey(self, raw: Any, place: str, out: list[Problem]) -> str | None:
        """Validate a journey to publish; its id, or None when it is invalid."""
        journey_id = raw.get("id") if isinstance(raw, dict) else None
        known = self.journeys | ({journey_id} if isinstance(journey_id, str) else set())
        journey, problems = validate_journey(raw, place, self.workspace, known)
        out.extend(problems)
        return journey.id if journey is not None else None


def _kind(entry: dict[str, Any]) -> str:
    """The input's kind: its one key (a ``publish`` may come with ``moves``, ``move_matching``)."""
    return "publish" if "publish" in entry else next(iter(entry))


def _shape(entry: Any, place: str) -> list[Problem]:
    moving = isinstance(entry, dict) and "publish" in entry and set(entry) <= {
        "publish", *PUBLISH_EXTRAS}
    if not isinstance(entry, dict) or (len(entry) != 1 and not moving):
        return [Problem(place, "an input is a mapping with one kind, e.g. {event: {...}}")]
    unfit = value_problems(entry, place)  # first: validation recurses, storing would fail
    if unfit:
        return unfit
    kind = _kind(entry)
    payload = entry[kind]
    try:
        if kind in _SERVICE_KINDS:
            _SERVICE_KINDS[kind].model_validate(payload)
        else:
            TimelineEntry.model_validate(entry)
    except ValidationError as error:
        if kind in _SERVICE_KINDS:
            return shape_problems(error, payload, f"{place}.{kind}")
        return shape_problems(error, entry, place)
    return []


def input_problems(refs: Refs, entries: list[Any], place: str = "") -> list[Problem]:
    """Every problem of raw inputs (``{"event": {...}}`` ...), each with its place."""
    out: list[Problem] = []
    valid = []
    for i, entry in enumerate(entries):
        found = _shape(entry, f"{place}[{i}]")
        out.extend(found)
        if not found:
            valid.append((i, _kind(entry), entry[_kind(entry)]))
    refs.prefetch({p["account"] for _, k, p in valid if k == "add_to_buying_group"},
                  {p["person"] for _, k, p in valid if k == "add_to_buying_group"})
    for i, kind, payload in valid:
        here = f"{place}[{i}].{kind}"
        if kind == "event":
            check_instant(payload.get("at"), f"{here}.at", out)
        elif kind == "upsert_account":
            check_instant(payload.get("created_at"), f"{here}.created_at", out)
            csm = payload.get("csm")
            if csm is not None and csm not in {c.id for c in refs.workspace.csms}:
                out.append(Problem(f"{here}.csm", f"no CSM {csm!r} (configure the workspace's "
                                                  "csms first)"))
            refs.accounts.add(payload["id"])
            refs.people.update(payload.get("people") or [])
        elif kind == "upsert_person":
            refs.people.add(payload["id"])
        elif kind == "configure":
            refs.configure(payload)
            check_workspace(payload, here, Known.from_workspace(refs.workspace), out)
        elif kind == "load_world":
            refs.accounts |= {a["id"] for a in payload.get("accounts", [])}
            refs.people |= {p["id"] for p in payload.get("people", [])}
        elif kind == "publish":
            journey_id = refs.check_journey(payload, here, out)
            if journey_id is not None:  # the approval workflow's gate, when it is on
                out.extend(reviews.publish_problems(refs.connection, "journey", journey_id,
                                                    payload, here))
                entry = entries[i]
                if entry.get("moves") or entry.get("move_matching"):
                    refs.check_moves(payload, entry.get("moves"),
                                     bool(entry.get("move_matching")), f"{place}[{i}]", out)
                refs.statuses.setdefault(journey_id, "draft")
        elif kind in LIFECYCLE:
            status = refs.statuses.get(payload)
            refused = f"no journey {payload!r}" if status is None else refusal(kind, payload, status)
            if refused is not None:
                out.append(Problem(here, refused))
            elif status is not None:
                refs.statuses[payload] = after(kind, status) or status
        elif kind == "add_to_buying_group":
            if payload["account"] not in refs.accounts:
                out.append(Problem(f"{here}.account", f"no account {payload['account']!r}"))
            if payload["person"] not in refs.people:
                out.append(Problem(f"{here}.person", f"no person {payload['person']!r}"))
    return out
