"""Pure pieces of the core: durations and instants, scores, the experiment draw, templates,
and the next instant a condition can flip."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from itinera.conditions import evaluate, next_flip, parse_condition
from itinera.domain.model import Account, BuyingGroup, Event, Member, Person, Role, RoleTemplate
from itinera.domain.scores import completeness_score, engagement_score
from itinera.engine.paths import experiment_bucket
from itinera.engine.render import MAX_OUTPUT, Renderer, RenderError
from itinera.timeutil import format_instant, parse_data_instant, parse_duration, parse_instant

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)


@dataclass
class World:
    account: Account
    people_: list[Person] = field(default_factory=list)
    events_: list[Event] = field(default_factory=list)

    def people(self) -> Sequence[Person]:
        return self.people_

    def buying_groups(self) -> Sequence[BuyingGroup]:
        return []

    def segments(self) -> set[str]:
        return set()

    def events(self, type: str) -> Sequence[Event]:
        return [e for e in self.events_ if e.type == type]


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30), ("15m", 900), ("2h", 7200), ("3d", 259200), ("1w", 604800), ("-60d", -5184000)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["3 days", "3", "d", "1.5d", "3D", ""])
def test_bad_durations_name_the_value(text: str) -> None:
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration(text)


def test_instants() -> None:
    assert parse_instant("2026-01-05T09:00:00Z") == NOW
    assert parse_instant("2026-01-05T10:00:00+01:00") == NOW
    assert parse_instant("2026-01-05T09:00:00") == NOW  # no offset: UTC
    assert format_instant(NOW) == "2026-01-05T09:00:00Z"
    assert format_instant(NOW + timedelta(microseconds=500000)) == "2026-01-05T09:00:00.5Z"
    with pytest.raises(ValueError, match="bad date"):
        parse_instant("next tuesday")
    assert parse_instant(NOW) == NOW
    for outside in [datetime(1899, 12, 31, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC),
                    "1899-12-31T00:00:00Z"]:  # a datetime is held to the same range as text
        with pytest.raises(ValueError, match=r"out of range \(years 1900 to 2999\)"):
            parse_instant(outside)


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-01-05", datetime(2026, 1, 5, tzinfo=UTC)),
    ("2026-01-05T09:00:00Z", NOW),
    ("2026-01-05 09:00", NOW),
    ("2026-01-05T11:00:00+02:00", NOW),
    (NOW.timestamp(), NOW),
    ("20260105", None), ("tomorrow", None), (True, None), (None, None), ("2026-02-30", None),
])
def test_data_instants_are_read_narrowly(value: object, expected: datetime | None) -> None:
    assert parse_data_instant(value) == expected


def test_engagement_and_completeness_follow_the_weights() -> None:
    template = RoleTemplate("t", (Role("DM", "vital"), Role("SME", "important"),
                                  Role("AN", "normal")))
    group = BuyingGroup("a", "X", "t", members=[Member("p1", "DM"), Member("p2", "DM"),
                                                 Member("p3", "AN")])
    # DM: mean(min(150,100), 10) = 55 → 55·100/240; AN: 40·60/240; SME: none → 0
    expected = round(55 * 100 / 240 + 40 * 60 / 240, 2)
    assert engagement_score(group, template, {"p1": 150, "p2": 10, "p3": 40}) == expected
    assert completeness_score(group, template) == 66.67
    assert engagement_score(group, None, {}) == 0.0


def test_experiment_draw_is_the_specified_hash() -> None:
    digest = hashlib.sha256(b"welcome-test:subject:a03").hexdigest()
    assert experiment_bucket("welcome-test", "subject", "a03") == int(digest[:8], 16) / 2**32
    assert 0 <= experiment_bucket("j", "n", "x") < 1


def test_templates_render_values_and_refuse_abuse() -> None:
    renderer = Renderer()
    assert renderer.render("Hi {{ person.title }} at {{ account.name }}",
                           {"person": {"title": "CTO"}, "account": {"name": "Acme"}}) == \
        "Hi CTO at Acme"
    assert renderer.render("{{ missing }}|", {}) == "|"
    with pytest.raises(RenderError):
        renderer.render("{{ 'x' * 100000 }}", {})
    with pytest.raises(RenderError):
        renderer.render("{{ 99999 ** 99999 }}", {})
    with pytest.raises(RenderError):
        renderer.render("{% for i in range(99999) %}xy{% endfor %}", {})
    with pytest.raises(RenderError):  # the sandbox refuses attribute games
        renderer.render("{{ ''.__class__.__mro__ }}", {})
    assert MAX_OUTPUT >= 10_000


def test_render_value_walks_json() -> None:
    assert Renderer().render_value({"a": ["{{ x }}", 1, None]}, {"x": "y"}) == {"a": ["y", 1, None]}


def _account(**attributes: object) -> Account:
    return Account("acme", dict(attributes), created_at=NOW - timedelta(days=10))


def test_next_flip_of_within_next_is_the_window_start_then_the_date() -> None:
    renewal = NOW + timedelta(days=100)
    world = World(_account(renewal=format_instant(renewal)))
    condition = parse_condition({"account.renewal": {"within_next": "90d"}})
    flip = next_flip(condition, world, NOW)
    assert flip == renewal - timedelta(days=90)
    assert not evaluate(condition, world, flip - timedelta(seconds=1))
    assert evaluate(condition, world, flip)
    assert next_flip(condition, world, flip) == renewal
    assert not evaluate(condition, world, renewal)


def test_next_flip_of_older_than_on_created_at() -> None:
    world = World(_account())
    condition = parse_condition({"account.created_at": {"older_than": "90d"}})
    assert next_flip(condition, world, NOW) == NOW + timedelta(days=80)
    assert evaluate(condition, world, NOW + timedelta(days=80))
    assert not evaluate(condition, world, NOW + timedelta(days=80) - timedelta(microseconds=1))


def test_next_flip_of_performed_window_is_when_the_oldest_event_leaves() -> None:
    events = [Event("e1", "login", NOW - timedelta(days=5), account="acme"),
              Event("e2", "login", NOW - timedelta(days=2), account="acme")]
    world = World(_account(), events_=events)
    condition = parse_condition({"performed": {"event": "login", "within_last": "7d",
                                               "count": {"gte": 2}}})
    assert evaluate(condition, world, NOW)
    flip = next_flip(condition, world, NOW)
    assert flip == NOW + timedelta(days=2)
    assert not evaluate(condition, world, flip)


def test_conditions_without_time_never_flip() -> None:
    world = World(_account(size="Large"))
    assert next_flip(parse_condition({"account.size": "Large"}), world, NOW) is None


def test_people_conditions_read_people_in_order() -> None:
    people = [Person("p1", "acme", None, {"title": "CEO"}), Person("p2", "acme", None,
                                                                      {"title": "CTO"})]
    world = World(_account(), people_=people)
    assert evaluate(parse_condition({"people": {"match": {"person.title": {"starts_with": "C"}},
                                                "count": 2}}), world, NOW)
    assert not evaluate(parse_condition({"people": {"match": {"person.title": "CFO"}}}),
                        world, NOW)
