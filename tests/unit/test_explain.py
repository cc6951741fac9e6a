"""``explain``: the values a condition reads, by name, as plain JSON — for each kind of
condition, with missing values as None."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from itinera.conditions import Scope, explain, parse_condition
from itinera.domain.model import Account, BuyingGroup, Event, Person

NOW = datetime(2026, 1, 10, 9, tzinfo=UTC)


@dataclass
class FactsOf:
    account: Account
    people_: list[Person] = field(default_factory=list)
    groups: list[BuyingGroup] = field(default_factory=list)
    member_of: set[str] = field(default_factory=set)
    events_: list[Event] = field(default_factory=list)

    def people(self) -> Sequence[Person]:
        return self.people_

    def buying_groups(self) -> Sequence[BuyingGroup]:
        return self.groups

    def segments(self) -> Collection[str]:
        return self.member_of

    def events(self, type: str) -> Sequence[Event]:
        return [e for e in self.events_ if e.type == type]


def test_every_kind_of_condition_names_what_it_read() -> None:
    account = Account(id="acme", attributes={"tier": "gold"}, created_at=NOW)
    ceo = Person(id="p1", account="acme", email=None, attributes={"title": "CEO"})
    dev = Person(id="p2", account="acme", email=None, attributes={"title": "Dev"})
    clicks = [Event(id=f"e{i}", type="email.clicked", at=datetime(2026, 1, d, tzinfo=UTC),
                    account="acme", person="p1", properties={}) for i, d in enumerate((2, 8, 9))]
    facts = FactsOf(account, [ceo, dev], [BuyingGroup(account="acme", solution="x", template=None)],
                    {"trial"}, clicks)
    condition = parse_condition({"all": [
        {"account.tier": "gold"},
        {"account.size": {"gte": 100}},
        {"not": {"in_segment": "churned"}},
        {"in_segment": "trial"},
        {"performed": {"event": "email.clicked", "within_last": "7d", "count": {"gte": 2}}},
        {"people": {"match": {"person.title": "CEO"}, "count": {"gte": 1}}},
        {"buying_group": {"solution": "x", "match": {"engagement_score": {"gte": 50}}}},
    ]}, scope=Scope.ACCOUNT)
    assert explain(condition, facts, NOW) == {
        "account.tier": "gold", "account.size": None, "in_segment.churned": False,
        "in_segment.trial": True, "performed.email.clicked within 7d": 2, "people_count": 1,
        "buying_group.x": {"engagement_score": 0.0, "completeness_score": 0.0, "status": None},
    }
    title = parse_condition({"person.title": {"in": ["CEO", "CFO"]}}, scope=Scope.PERSON)
    assert explain(title, facts, NOW, dev) == {"person.title": "Dev"}
