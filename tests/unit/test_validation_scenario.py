"""Scenario validation: data, journeys (inline and from files), timeline and expectations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance import CASES, scenarios
from itinera.definitions import LoadedScenario, read_document, validate_scenario

VALID_CASES = scenarios(valid_only=True)


def scenario(**keys: Any) -> dict[str, Any]:
    """A valid scenario; keys given replace the defaults."""
    raw: dict[str, Any] = {
        "start": "2026-01-05T09:00:00Z",
        "data": {
            "role_templates": [{"id": "ent", "roles": [{"name": "Decision Maker"}]}],
            "accounts": [{"id": "acme"}, {"id": "beta"}],
            "people": [{"id": "p1", "account": "acme"}, {"id": "p2", "account": "beta"}],
            "segments": [{"id": "all", "when": {"account.id": {"exists": True}}}],
            "templates": [{"id": "welcome", "subject": "Hi"}],
        },
        "journeys": [{"id": "j", "entry": {"segments": ["all"]}, "start": "a",
                      "nodes": {"a": {"do": [{"send_email": {"template": "welcome"}}]}}}],
        "timeline": [{"at": "0s", "enable": "j"}],
    }
    raw.update(keys)
    return raw


def data(**keys: Any) -> dict[str, Any]:
    base: dict[str, Any] = scenario()["data"]
    base.update(keys)
    return base


def problems(raw: Any, base_dir: Path = CASES) -> list[str]:
    loaded, found = validate_scenario(raw, base_dir)
    assert (loaded is None) == bool(found)
    return [str(p) for p in found]


@pytest.mark.parametrize("path", VALID_CASES, ids=[p.name for p in VALID_CASES])
def test_conformance_cases_validate_clean(path: Path) -> None:
    loaded, found = validate_scenario(read_document(path), path.parent)
    assert [str(p) for p in found] == []
    assert isinstance(loaded, LoadedScenario) and loaded.journeys


def test_a_valid_scenario_loads_with_its_journeys_in_file_order(tmp_path: Path) -> None:
    (tmp_path / "second.yaml").write_text(
        "id: second\nentry: {segments: [all]}\nstart: a\nnodes: {a: {end: true}}\n")
    loaded, found = validate_scenario(scenario(journey_files=["second.yaml"]), tmp_path)
    assert found == [] and loaded is not None
    assert [j.id for j in loaded.journeys] == ["j", "second"]
    assert loaded.base_dir == tmp_path and loaded.scenario.start == "2026-01-05T09:00:00Z"


def test_shape_places() -> None:
    raw = scenario(data=data(accounts=[{"id": "acme"}, {"id": "beta"}, {"id": 7}]),
                   timeline=[{"at": "0s", "enable": "j"}] * 3 + [{"at": "2 days", "enable": "j"}])
    assert problems(raw) == [
        "data.accounts[2].id: Input should be a valid string, got 7",
        "timeline[3].at: bad duration '2 days': write an integer and a unit (30s, 15m, 2h, 3d, 1w)",
    ]


def test_start_must_be_an_instant() -> None:
    assert problems(scenario(start="monday")) == [
        "start: bad date 'monday': write ISO-8601, e.g. 2026-03-01T09:00:00Z"]


def test_journey_file_problems_are_placed_under_the_file(tmp_path: Path) -> None:
    (tmp_path / "onboarding.yaml").write_text(
        "id: onboarding\nentry: {segments: [all]}\nstart: a\nnodes: {a: {do: [], next: x}}\n")
    assert problems(scenario(journey_files=["onboarding.yaml"]), tmp_path) == [
        "onboarding.yaml: nodes.a.next: no node 'x'"]


def test_missing_journey_file(tmp_path: Path) -> None:
    found = problems(scenario(journey_files=["gone.yaml"]), tmp_path)
    assert len(found) == 1 and found[0].startswith("journey_files[0]: ")
    assert "gone.yaml: cannot read" in found[0]


def test_journeys_are_checked_against_the_scenario_data() -> None:
    raw = scenario()
    raw["journeys"][0]["nodes"]["a"]["do"][0]["send_email"]["template"] = "nope"
    raw["journeys"][0]["exit"] = {"unenroll_from": ["gone"]}
    assert problems(raw) == [
        "journeys[0].exit.unenroll_from[0]: no journey 'gone'",
        "journeys[0].nodes.a.do[0].send_email.template: no template 'nope'",
    ]


@pytest.mark.parametrize(("key", "item", "what"), [
    ("accounts", {"id": "acme"}, "account"),
    ("people", {"id": "p1", "account": "acme"}, "person"),
    ("segments", {"id": "all", "when": {"account.x": 1}}, "segment"),
    ("templates", {"id": "welcome", "subject": "x"}, "template"),
])
def test_duplicate_ids_in_data(key: str, item: dict[str, Any], what: str) -> None:
    raw = scenario(data=data(**{key: [*scenario()["data"][key], item]}))
    index = len(scenario()["data"][key])
    assert problems(raw) == [f"data.{key}[{index}].id: duplicate {what} '{item['id']}'"]


def test_duplicate_journey_ids() -> None:
    raw = scenario()
    raw["journeys"].append(dict(raw["journeys"][0]))
    assert problems(raw) == ["journeys[1].id: duplicate journey 'j'"]


def test_person_of_an_unknown_account() -> None:
    raw = scenario(data=data(people=[{"id": "p1", "account": "ghost"}]))
    assert problems(raw) == ["data.people[0].account: no account 'ghost'"]


def test_buying_group_members_and_roles() -> None:
    raw = scenario(data=data(buying_groups=[{
        "account": "acme", "solution": "X", "template": "ent",
        "members": [{"person": "p2", "role": "Decision Maker"},
                    {"person": "p9", "role": "Decision Maker"},
                    {"person": "p1", "role": "Janitor"}],
    }]))
    assert problems(raw) == [
        "data.buying_groups[0].members[0].person: person 'p2' belongs to account 'beta', "
        "not 'acme'",
        "data.buying_groups[0].members[1].person: no person 'p9'",
        "data.buying_groups[0].members[2].role: no role 'Janitor' in role template 'ent'",
    ]


def test_segment_conditions_are_parsed() -> None:
    raw = scenario(data=data(segments=[{"id": "all", "when": {"account.size": {"gt": [1]}}},
                                       {"id": "loop", "when": {"in_segment": "loop"}}]))
    assert problems(raw) == [
        "data.segments[0].when.account.size.gt: operator gt takes a number or a string, got [1]",
        "data.segments[1].when: segment 'loop' depends on itself through in_segment: "
        "loop -> loop",
    ]


@pytest.mark.parametrize("kind", ["enable", "disable", "pause", "resume"])
def test_timeline_unknown_journey(kind: str) -> None:
    raw = scenario(timeline=[{"at": "0s", "enable": "j"}, {"at": "1d", kind: "ghost"}])
    assert problems(raw) == [f"timeline[1].{kind}: no journey 'ghost'"]


def test_timeline_publish_is_validated_and_defines_its_journey() -> None:
    published = {"id": "v2", "entry": {"segments": ["all"]}, "start": "a",
                 "nodes": {"a": {"do": [], "next": "dne"}}}
    raw = scenario(timeline=[{"publish": published}, {"at": "1d", "enable": "v2"}])
    assert problems(raw) == ["timeline[0].publish.nodes.a.next: no node 'dne'"]


def test_timeline_references_to_accounts_and_people() -> None:
    raw = scenario(timeline=[
        {"upsert_account": {"id": "new-co"}},
        {"event": {"type": "x", "account": "new-co"}},
        {"event": {"type": "x", "person": "ghost"}},
        {"delete_person": "nobody"},
    ])
    assert problems(raw) == ["timeline[2].event.person: no person 'ghost'",
                             "timeline[3].delete_person: no person 'nobody'"]


def test_expect_names_known_journeys_and_accounts() -> None:
    raw = scenario(expect=[{"journey": "ghost", "account": "acme"},
                           {"journey": "j", "account": "nobody", "path": ["a", "zz"]}])
    assert problems(raw) == ["expect[0].journey: no journey 'ghost'",
                             "expect[1].account: no account 'nobody'",
                             "expect[1].path[1]: no node 'zz' in journey 'j'"]


def test_not_a_mapping() -> None:
    assert problems([1, 2]) == ["a scenario is a mapping of keys, got a list"]


def test_quiet_hours_problems_name_their_places() -> None:
    raw = scenario(data=data(quiet_hours={"email": {
        "start": "9pm", "end": "08:00", "time_zone": "Mars/Olympus", "days": ["funday"]}}))
    found = problems(raw)
    assert [p.split(":")[0] for p in found] == [
        "data.quiet_hours.email.start", "data.quiet_hours.email.days[0]",
        "data.quiet_hours.email.time_zone"]
    assert "unknown time zone 'Mars/Olympus'" in found[2]
    assert found[0] == ("data.quiet_hours.email.start: a time of day as \"HH:MM\" (00:00 to 23:59), "
                        "got '9pm'")
    raw = scenario(data=data(quiet_hours={"email": {"start": 1260, "end": "8:00"}}))
    assert problems(raw) == [
        "data.quiet_hours.email.start: a time of day as \"HH:MM\", in quotes: YAML reads 21:00 "
        "unquoted as the number 1260",
        "data.quiet_hours.email.end: a time of day as \"HH:MM\" (00:00 to 23:59), got '8:00'"]
    every_day = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    raw = scenario(data=data(quiet_hours={"email": {"start": "21:00", "end": "08:00",
                                                    "days": every_day}}))
    assert problems(raw) == [
        "data.quiet_hours.email: every day is quiet: nothing could ever be sent"]
