"""The checks of a scenario file beyond its shape: its data, timeline and expectations.

Like the journey checks, these read the raw mapping (after the shape check has reported what
it found), guard every access by type, and append problems with their places.

Accounts and people created by the timeline (``upsert_account``, ``upsert_person``) count as
known wherever the timeline or ``expect`` names them, whatever their instant: the order of
timeline entries is the simulator's business, and refusing a forward reference would surprise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itinera.conditions.parse import Scope, parse_condition, referenced_segments
from itinera.definitions._documents import read_document
from itinera.definitions._graph import cyclic_groups, shortest_cycle
from itinera.definitions._references import (
    Known,
    check_non_negative,
    check_role,
    check_template_text,
)
from itinera.definitions._shape import describe, join
from itinera.errors import DefinitionError, Problem
from itinera.timeutil import parse_instant

__all__ = ["JourneySource", "check_scenario", "check_workspace", "journey_ids", "journey_sources"]

# (raw journey, place) -> its problems; used for the journeys the timeline publishes.
JourneyCheck = Callable[[Any, str], list[Problem]]


@dataclass(frozen=True)
class JourneySource:
    """A journey of the scenario: inline (``journeys[i]``) or read from a journey file."""

    raw: Any
    place: str
    file: str | None = None

    def relocate(self, problem: Problem) -> Problem:
        """Problems of a journey file are placed under its name: ``a.yaml: nodes.x.next``."""
        if self.file is None:
            return problem
        return Problem(f"{self.file}: {problem.place}" if problem.place else self.file,
                       problem.message)


def journey_sources(raw: dict[str, Any], base_dir: Path, out: list[Problem]) -> list[JourneySource]:
    """The journeys in file order: inline ones, then those of ``journey_files``."""
    sources: list[JourneySource] = []
    inline = raw.get("journeys", [])
    if isinstance(inline, list):
        sources.extend(JourneySource(j, f"journeys[{i}]") for i, j in enumerate(inline))
    else:
        out.append(Problem("journeys", f"expected a list of journeys, got {describe(inline)}"))
    files = raw.get("journey_files", [])
    for i, name in enumerate(files if isinstance(files, list) else []):
        if not isinstance(name, str):
            continue
        try:
            sources.append(JourneySource(read_document(base_dir / name), "", name))
        except DefinitionError as error:
            out.extend(Problem(f"journey_files[{i}]", str(p)) for p in error.problems)
    return sources


def _publishes(raw: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    timeline = raw.get("timeline")
    if not isinstance(timeline, list):
        return []
    return [(i, e["publish"]) for i, e in enumerate(timeline)
            if isinstance(e, dict) and isinstance(e.get("publish"), dict)]


def journey_ids(raw: dict[str, Any], sources: list[JourneySource]) -> list[str]:
    """Every journey id the scenario defines, including those only the timeline publishes."""
    journeys = [s.raw for s in sources] + [j for _, j in _publishes(raw)]
    return list(dict.fromkeys(
        j["id"] for j in journeys if isinstance(j, dict) and isinstance(j.get("id"), str)
    ))


@dataclass
class _World:
    """Who exists in the scenario, in data or created by the timeline."""

    accounts: set[str] = field(default_factory=set)
    people: set[str] = field(default_factory=set)
    person_account: dict[str, str] = field(default_factory=dict)
    # journey id -> (node ids, experiment name -> variant names)
    journeys: dict[str, tuple[set[str], dict[str, set[str]]]] = field(default_factory=dict)


def _items(container: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    items = container.get(key) if isinstance(container, dict) else None
    if not isinstance(items, list):
        return []
    return [(i, item) for i, item in enumerate(items) if isinstance(item, dict)]


def _str(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) else None


def _world(raw: dict[str, Any], sources: list[JourneySource]) -> _World:
    world = _World()
    data = raw.get("data")
    records = [p for _, p in _items(data, "people")]
    for _, entry in _items(raw, "timeline"):
        if isinstance(entry.get("upsert_account"), dict) and _str(entry["upsert_account"], "id"):
            account = entry["upsert_account"]
            world.accounts.add(account["id"])
            linked = account.get("people")
            records += [{"id": p, "account": account["id"]}
                        for p in (linked if isinstance(linked, list) else [])]
        if isinstance(entry.get("upsert_person"), dict):
            records.append(entry["upsert_person"])
    world.accounts.update(a["id"] for _, a in _items(data, "accounts") if _str(a, "id"))
    for person in records:
        if (person_id := _str(person, "id")) is not None:
            world.people.add(person_id)
            if (account := _str(person, "account")) is not None:
                world.person_account.setdefault(person_id, account)
    for journey in [s.raw for s in sources] + [j for _, j in _publishes(raw)]:
        if isinstance(journey, dict) and isinstance(journey.get("id"), str):
            raw_nodes = journey.get("nodes")
            nodes: dict[Any, Any] = raw_nodes if isinstance(raw_nodes, dict) else {}
            experiments: dict[str, set[str]] = {}
            for node in nodes.values():
                experiment = node.get("experiment") if isinstance(node, dict) else None
                if isinstance(experiment, dict) and isinstance(experiment.get("name"), str):
                    experiments[experiment["name"]] = {
                        v["name"] for _, v in _items(experiment, "variants") if _str(v, "name")
                    }
            names, known_experiments = world.journeys.setdefault(journey["id"], (set(), {}))
            names.update(str(n) for n in nodes)
            known_experiments.update(experiments)
    return world


def check_scenario(raw: dict[str, Any], sources: list[JourneySource], known: Known,
                   out: list[Problem], check_publish: JourneyCheck) -> None:
    """Everything but the shape and the journeys' own problems."""
    start = raw.get("start")
    if isinstance(start, str):
        try:
            parse_instant(start)
        except ValueError as error:
            out.append(Problem("start", str(error)))
    check_non_negative(raw.get("until"), "until", "until", out)
    seen: set[str] = set()
    for source in sources:
        journey_id = source.raw.get("id") if isinstance(source.raw, dict) else None
        if isinstance(journey_id, str):
            if journey_id in seen:
                place = source.relocate(Problem(join(source.place, "id"), "")).place
                out.append(Problem(place, f"duplicate journey {journey_id!r}"))
            seen.add(journey_id)
    world = _world(raw, sources)
    data = raw.get("data")
    if isinstance(data, dict):
        _check_data(data, known, world, out)
    _check_timeline(raw, known, world, out, check_publish)
    _check_expect(raw, world, out)


def _duplicates(data: dict[str, Any], key: str, what: str, out: list[Problem],
                prefix: str = "data") -> None:
    seen: set[str] = set()
    for i, item in _items(data, key):
        if (item_id := _str(item, "id")) is not None:
            if item_id in seen:
                out.append(Problem(join(prefix, f"{key}[{i}].id"), f"duplicate {what} {item_id!r}"))
            seen.add(item_id)


def _check_reference(value: Any, ids: Any, what: str, place: str, out: list[Problem]) -> None:
    if isinstance(value, str) and ids is not None and value not in ids:
        out.append(Problem(place, f"no {what} {value!r}"))


def _check_account_record(account: dict[str, Any], here: str, known: Known,
                          out: list[Problem]) -> None:
    _check_reference(account.get("csm"), known.csms, "CSM", join(here, "csm"), out)
    playbooks = account.get("playbooks")
    for j, playbook in enumerate(playbooks if isinstance(playbooks, list) else []):
        _check_reference(playbook, known.playbooks, "playbook", f"{here}.playbooks[{j}]", out)
    if isinstance(account.get("created_at"), str):
        try:
            parse_instant(account["created_at"])
        except ValueError as error:
            out.append(Problem(join(here, "created_at"), str(error)))


def check_workspace(data: dict[str, Any], prefix: str, known: Known, out: list[Problem]) -> None:
    """What the shape of workspace data does not say: duplicate ids, roles named twice in a
    role template, template text that does not parse, segment conditions (and segments defined
    through themselves). Places start with ``prefix``."""
    for key, what in (("segments", "segment"), ("templates", "template"), ("csms", "CSM"),
                      ("role_templates", "role template")):
        _duplicates(data, key, what, out, prefix)
    for i, template in _items(data, "role_templates"):
        roles: set[str] = set()
        for j, role in _items(template, "roles"):
            if (name := _str(role, "name")) is not None:
                if name in roles:
                    out.append(Problem(join(prefix, f"role_templates[{i}].roles[{j}].name"),
                                       f"duplicate role {name!r}"))
                roles.add(name)
    for i, template in _items(data, "templates"):
        for key in ("subject", "preheader", "text", "html"):
            check_template_text(template.get(key), join(prefix, f"templates[{i}].{key}"), out)
    _check_segments(data, known, out, prefix)


def _check_data(data: dict[str, Any], known: Known, world: _World, out: list[Problem]) -> None:
    for key, what in (("accounts", "account"), ("people", "person")):
        _duplicates(data, key, what, out)
    check_workspace(data, "data", known, out)
    accounts = {a["id"] for _, a in _items(data, "accounts") if _str(a, "id")}
    for i, account in _items(data, "accounts"):
        _check_account_record(account, f"data.accounts[{i}]", known, out)
    for i, person in _items(data, "people"):
        if person.get("account") is None:
            out.append(Problem(f"data.people[{i}]", "a person needs an 'account'"))
        _check_reference(person.get("account"), accounts, "account",
                         f"data.people[{i}].account", out)
    _check_buying_groups(data, known, world, accounts, out)


def _check_buying_groups(data: dict[str, Any], known: Known, world: _World, accounts: set[str],
                         out: list[Problem]) -> None:
    people = {p["id"]: p.get("account") for _, p in _items(data, "people") if _str(p, "id")}
    first_template = next(iter(known.role_templates), None) if known.role_templates else None
    groups: set[tuple[str, str]] = set()
    for i, group in _items(data, "buying_groups"):
        here = f"data.buying_groups[{i}]"
        account, solution = _str(group, "account"), _str(group, "solution")
        _check_reference(account, accounts, "account", join(here, "account"), out)
        if account is not None and solution is not None:
            if (account, solution) in groups:
                out.append(Problem(here, f"duplicate buying group for account {account!r} and "
                                         f"solution {solution!r}"))
            groups.add((account, solution))
        template = group.get("template")
        if known.role_templates is not None:
            _check_reference(template, known.role_templates, "role template",
                             join(here, "template"), out)
            if template is None and first_template is None:
                out.append(Problem(here, "no role template to take the roles from: name one in "
                                         "'template' or add one to data.role_templates"))
        template = template if template is not None else first_template
        for j, member in _items(group, "members"):
            place = f"{here}.members[{j}]"
            person = _str(member, "person")
            if person is not None and person not in people:
                out.append(Problem(join(place, "person"), f"no person {person!r}"))
            elif person is not None and account is not None and people[person] != account:
                out.append(Problem(join(place, "person"), f"person {person!r} belongs to account "
                                                          f"{people[person]!r}, not {account!r}"))
            if isinstance(template, str):
                check_role(member.get("role"), template, join(place, "role"), known, out)


def _check_segments(data: dict[str, Any], known: Known, out: list[Problem],
                    prefix: str = "data") -> None:
    uses: dict[str, list[str]] = {}
    places: dict[str, str] = {}
    for i, segment in _items(data, "segments"):
        here = join(prefix, f"segments[{i}].when")
        if not isinstance(segment.get("when"), dict):
            continue
        problems: list[Problem] = []
        tree = parse_condition(segment["when"], here, Scope.ACCOUNT, problems, known.segments)
        out.extend(problems)
        if (segment_id := _str(segment, "id")) is not None and segment_id not in uses:
            uses[segment_id] = sorted(referenced_segments(tree))
            places[segment_id] = here
    # A segment defined through itself (in_segment, directly or not) has no membership to find.
    for group in cyclic_groups(uses):
        cycle = shortest_cycle(group[0], uses, set(group))
        out.append(Problem(places[group[0]], f"segment {group[0]!r} depends on itself through "
                                             f"in_segment: {' -> '.join(cycle)}"))


def _check_timeline(raw: dict[str, Any], known: Known, world: _World, out: list[Problem],
                    check_publish: JourneyCheck) -> None:
    journeys = known.journeys or frozenset()
    for i, entry in _items(raw, "timeline"):
        here = f"timeline[{i}]"
        check_non_negative(entry.get("at"), join(here, "at"), "at", out)
        for kind in ("enable", "disable", "pause", "resume"):
            _check_reference(entry.get(kind), journeys, "journey", join(here, kind), out)
        if isinstance(entry.get("publish"), dict):
            out.extend(check_publish(entry["publish"], join(here, "publish")))
        event = entry.get("event")
        if isinstance(event, dict):
            _check_event(event, join(here, "event"), world, out)
        if isinstance(entry.get("upsert_account"), dict):
            _check_account_record(entry["upsert_account"], join(here, "upsert_account"), known, out)
        if isinstance(entry.get("upsert_person"), dict):
            _check_reference(entry["upsert_person"].get("account"), world.accounts, "account",
                             join(here, "upsert_person.account"), out)
        _check_reference(entry.get("delete_person"), world.people, "person",
                         join(here, "delete_person"), out)
        add = entry.get("add_to_buying_group")
        if isinstance(add, dict):
            place = join(here, "add_to_buying_group")
            _check_reference(add.get("account"), world.accounts, "account",
                             join(place, "account"), out)
            _check_reference(add.get("person"), world.people, "person", join(place, "person"), out)
            if known.role_templates is not None:
                _check_reference(add.get("template"), known.role_templates, "role template",
                                 join(place, "template"), out)
            check_role(add.get("role"), add.get("template"), join(place, "role"), known, out)


def _check_event(event: dict[str, Any], here: str, world: _World, out: list[Problem]) -> None:
    account, person = event.get("account"), event.get("person")
    _check_reference(account, world.accounts, "account", join(here, "account"), out)
    _check_reference(person, world.people, "person", join(here, "person"), out)
    owner = world.person_account.get(person) if isinstance(person, str) else None
    if isinstance(account, str) and owner is not None and owner != account:
        out.append(Problem(join(here, "account"), f"person {person!r} belongs to account "
                                                  f"{owner!r}, not {account!r}"))
    if isinstance(event.get("at"), str):
        try:
            parse_instant(event["at"])
        except ValueError as error:
            out.append(Problem(join(here, "at"), str(error)))


def _check_expect(raw: dict[str, Any], world: _World, out: list[Problem]) -> None:
    for i, expectation in _items(raw, "expect"):
        here = f"expect[{i}]"
        journey = _str(expectation, "journey")
        _check_reference(journey, world.journeys, "journey", join(here, "journey"), out)
        _check_reference(expectation.get("account"), world.accounts, "account",
                         join(here, "account"), out)
        if journey not in world.journeys:
            continue
        nodes, experiments = world.journeys[journey]
        path = expectation.get("path")
        for j, node in enumerate(path if isinstance(path, list) else []):
            if isinstance(node, str) and node not in nodes:
                out.append(Problem(f"{here}.path[{j}]", f"no node {node!r} in journey {journey!r}"))
        variants = expectation.get("variants")
        for name, variant in (variants.items() if isinstance(variants, dict) else []):
            place = join(join(here, "variants"), str(name))
            if name not in experiments:
                out.append(Problem(place, f"no experiment {name!r} in journey {journey!r}"))
            elif isinstance(variant, str) and variant not in experiments[name]:
                out.append(Problem(place, f"no variant {variant!r} in experiment {name!r}"))
