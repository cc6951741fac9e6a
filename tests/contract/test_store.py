"""The Store contract, on every backend (SQLite and PostgreSQL via the database_url fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from itinera.conditions import parse_condition
from itinera.domain.model import Account, BuyingGroup, Enrollment, Event, Member, Person, Token
from itinera.storage.sql import SqlStore
from itinera.storage.store import Effect, Timer

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def test_accounts_round_trip_with_builtins(store: SqlStore) -> None:
    with store.transaction():
        store.save_account(Account("acme", {"name": "Acme", "tags": ["a"], "n": 1.5},
                                   created_at=T0, csm="ann", playbooks=["renewal"],
                                   moments=[{"type": "Milestone", "description": "x"}]))
    with store.transaction():
        found = store.account("acme")
    assert found is not None
    assert (found.attributes, found.csm, found.created_at, found.playbooks, found.moments) == (
        {"name": "Acme", "tags": ["a"], "n": 1.5}, "ann", T0, ["renewal"],
        [{"type": "Milestone", "description": "x"}])
    assert store.account("nope") is None


def test_people_come_back_in_the_order_they_were_added(store: SqlStore) -> None:
    with store.transaction():
        store.save_account(Account("acme", {}, created_at=T0))
        for pid in ["zed", "amy", "mid"]:
            store.save_person(Person(pid, "acme", f"{pid}@x.test", {"title": pid.upper()}))
        store.save_person(Person("other", None, None, {}))
    with store.transaction():
        people = store.people_of("acme")
    assert [p.id for p in people] == ["zed", "amy", "mid"]
    assert people[1].attributes == {"title": "AMY"} and people[1].email == "amy@x.test"


def test_person_updates_keep_their_place_and_delete_removes(store: SqlStore) -> None:
    with store.transaction():
        first, second = Person("p1", "acme", None, {}), Person("p2", "acme", None, {})
        store.save_person(first)
        store.save_person(second)
        first.score, first.unsubscribed = 12.5, True
        store.save_person(first)
        store.delete_person("p2")
    with store.transaction():
        assert [(p.id, p.score, p.unsubscribed) for p in store.people_of("acme")] == [
            ("p1", 12.5, True)]
        assert store.person("p2") is None


def test_buying_groups_and_memberships(store: SqlStore) -> None:
    with store.transaction():
        store.save_buying_group(BuyingGroup("acme", "X", "enterprise", "Engaged",
                                            [Member("p1", "Decision Maker")], 41.67, 33.33))
        store.set_membership("acme", "large", True)
        store.set_membership("beta", "large", True)
        store.set_membership("acme", "ca", True)
        store.set_membership("acme", "ca", False)
        store.set_membership("acme", "ca", True)  # re-entered: order of writes matters
    with store.transaction():
        (group,) = store.buying_groups_of("acme")
        assert (group.status, group.members, group.engagement_score) == (
            "Engaged", [Member("p1", "Decision Maker")], 41.67)
        assert store.segments_of("acme") == {"large", "ca"}
        assert store.segment_members("large") == ["acme", "beta"]


def test_events_of_an_account_include_its_peoples(store: SqlStore) -> None:
    with store.transaction():
        store.save_person(Person("p1", "acme", None, {}))
        store.add_event(Event("e1", "email.clicked", T0, person="p1"))
        store.add_event(Event("e2", "trial.started", T0, account="acme", properties={"a": 1}))
        store.add_event(Event("e3", "email.clicked", T0, person="stranger"))
        assert store.has_event("e1") and not store.has_event("e9")
    with store.transaction():
        assert [e.id for e in store.events_of("acme")] == ["e1", "e2"]
        assert [e.id for e in store.events_of("acme", "email.clicked")] == ["e1"]
        assert store.events_of("acme", "trial.started")[0].properties == {"a": 1}
        assert store.has_event("e3")


def test_fill_segment_adds_the_matching_accounts_of_those_given(store: SqlStore) -> None:
    """Given every stored account, no list is bound; given some, only those are added."""
    when = parse_condition({"account.tier": "gold", "performed": {"event": "login"}})
    with store.transaction():
        for id, tier in (("a", "gold"), ("b", "gold"), ("c", "gold"), ("d", "free")):
            store.save_account(Account(id, {"tier": tier}, T0))
        store.save_person(Person("pb", "b", None, {}))
        for id, account, person in (("e1", "a", None), ("e2", None, "pb"), ("e3", "c", None),
                                    ("e4", "d", None)):
            store.add_event(Event(id, "login", T0, account=account, person=person))
        store.fill_segment("all", when, T0, ["d", "c", "b", "a", "a"])
        store.fill_segment("some", when, T0, ["b", "c", "d"])
        store.fill_segment("none", when, T0, [])
    with store.transaction():
        assert store.segment_members("all") == ["a", "b", "c"]
        assert store.segment_members("some") == ["b", "c"]
        assert store.segment_members("none") == []


def test_events_of_count_an_event_of_account_and_person_once_for_each_account(
        store: SqlStore) -> None:
    """An event carrying an account and a person is the account's, and the person's account's
    when that is another: never twice for one account, in arrival order either way."""
    with store.transaction():
        store.save_person(Person("p1", "acme", None, {}))
        store.save_person(Person("p2", None, None, {}))  # of no account
        store.add_event(Event("e1", "login", T0, account="acme", person="p1"))
        store.add_event(Event("e2", "login", T0, account="beta", person="p1"))
        store.add_event(Event("e3", "login", T0, account="beta", person="p2"))
        store.add_event(Event("e4", "login", T0, person="p1"))
    with store.transaction():
        assert [e.id for e in store.events_of("acme")] == ["e1", "e2", "e4"]
        assert [e.id for e in store.events_of("acme", "login")] == ["e1", "e2", "e4"]
        assert [e.id for e in store.events_of("beta")] == ["e2", "e3"]
        assert store.events_of("acme", "logout") == []


def test_enrollment_state_round_trips(store: SqlStore) -> None:
    enrollment = Enrollment(7, "onboarding", 2, "acme", T0, path=["a", "b"],
                            variants={"subject": "bold"}, next_token=3, next_fork=2,
                            tokens=[Token(2, "wait", ["p1", "p2"], [1], "wait", 11, T0)],
                            event={"id": "e1", "properties": {"x": 1}})
    with store.transaction():
        store.save_enrollment(enrollment)
    with store.transaction():
        found = store.enrollment(7)
        assert found == enrollment
        assert [e.id for e in store.active_enrollments("acme")] == [7]
        enrollment.status, enrollment.ended_at, enrollment.reason = "completed", T0, "completed"
        store.save_enrollment(enrollment)
    with store.transaction():
        assert store.active_enrollments("acme") == []
        last = store.last_enrollment("onboarding", "acme")
        assert last is not None and last.ended_at == T0


def test_timers_come_due_in_due_then_set_order(store: SqlStore) -> None:
    with store.transaction():
        for due, account in [(2, "c"), (1, "a"), (1, "b"), (3, "d")]:
            store.add_timer(Timer(0, T0 + timedelta(days=due), "reeval", account=account))
    with store.transaction():
        due = store.due_timers(T0 + timedelta(days=2), 10)
        assert [t.account for t in due] == ["a", "b", "c"]
        assert store.next_due() == T0 + timedelta(days=1)
        store.delete_timers(account="a", kind="reeval")
        store.hold_timer(due[1].id)
        assert [t.account for t in store.due_timers(T0 + timedelta(days=9), 10)] == ["c", "d"]


def test_held_timers_are_listed_per_journey(store: SqlStore) -> None:
    with store.transaction():
        store.add_timer(Timer(0, T0, "wake", account="a", enrollment=1, token=1, journey="j"))
        store.add_timer(Timer(0, T0, "wake", account="b", enrollment=2, token=1, journey="k"))
        (first, _) = store.due_timers(T0, 10)
        store.hold_timer(first.id)
    with store.transaction():
        assert [t.account for t in store.held_timers("j")] == ["a"]
        store.delete_timers(enrollment=1)
        assert store.held_timers("j") == []


def test_an_effect_with_a_known_key_is_kept_once(store: SqlStore) -> None:
    with store.transaction():
        store.add_effect(Effect("k1", "email", "sent", T0, payload={"to": "a@x.test"}))
        store.add_effect(Effect("k1", "email", "sent", T0, payload={"to": "again"}))
        store.add_effect(Effect("k2", "task", "open", T0))
    with store.transaction():
        assert [(e.key, e.payload) for e in store.effects()] == [
            ("k1", {"to": "a@x.test"}), ("k2", {})]


def test_a_failed_transaction_leaves_nothing(store: SqlStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.save_account(Account("acme", {}, created_at=T0))
        store.add_event(Event("e1", "x", T0, account="acme"))
        store.add_timer(Timer(0, T0, "reeval", account="acme"))
        raise RuntimeError("boom")
    with store.transaction():
        assert store.account("acme") is None
        assert not store.has_event("e1")
        assert store.due_timers(T0, 10) == []


def test_counters_are_exact_or_reserved_in_blocks(database_url: str) -> None:
    first, second = SqlStore(database_url), SqlStore(database_url, create=False)
    try:
        with first.transaction():
            assert [first.next_value("round_robin:j:n") for _ in range(3)] == [1, 2, 3]
            a = [first.next_value("seq:x") for _ in range(3)]
        with second.transaction():
            assert second.next_value("round_robin:j:n") == 4
            b = second.next_value("seq:x")
        assert a == sorted(a) and b not in a  # two writers never share an id
    finally:
        first.close()
        second.close()


def test_load_accounts_fetches_many_at_once(store: SqlStore) -> None:
    with store.transaction():
        for aid in ["a", "b"]:
            store.save_account(Account(aid, {}, created_at=T0))
            store.save_person(Person(f"{aid}1", aid, None, {}))
        store.set_membership("a", "s", True)
        done = Enrollment(1, "j", 1, "a", T0, status="completed", ended_at=T0)
        store.save_enrollment(done)
        store.save_enrollment(Enrollment(2, "k", 1, "a", T0))
    with store.transaction():
        records = store.load_accounts(["a", "b", "zzz"])
    assert set(records.accounts) == {"a", "b"}
    assert [p.id for p in records.people["b"]] == ["b1"]
    assert records.segments == {"a": {"s"}}
    assert [e.id for e in records.enrollments["a"]] == [1, 2]
