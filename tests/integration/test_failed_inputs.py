"""Inputs the engine cannot apply: ``Service.submit`` refuses what it can tell now (an unknown
journey, a member of an unknown account) with places and stores nothing; an input that fails
anyway when applied is moved to the rejected messages with its reason, and the inputs around
it are applied, in order — the inbox is never held up behind it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from itinera.errors import DefinitionError
from itinera.runtime import ManualClock, Service
from itinera.storage import inbox, queries
from itinera.storage import schema as t

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def test_submit_refuses_what_would_fail_and_stores_nothing(database_url: str) -> None:
    service = Service(database_url, ManualClock(T0))
    try:
        with pytest.raises(DefinitionError) as raised:
            service.submit([{"upsert_account": {"id": "acme"}}, {"enable": "ghost"},
                            {"add_to_buying_group": {"account": "nope", "person": "p9",
                                                     "solution": "x", "role": "y"}}])
        assert [str(p) for p in raised.value.problems] == [
            "inputs[1].enable: no journey 'ghost'",
            "inputs[2].add_to_buying_group.account: no account 'nope'",
            "inputs[2].add_to_buying_group.person: no person 'p9'"]
        with service.intake.transaction():
            assert inbox.pending_count(service.intake) == 0
    finally:
        service.close()


def test_an_input_failing_when_applied_is_rejected_and_the_others_go_on(database_url: str) -> None:
    service = Service(database_url, ManualClock(T0))
    try:
        # Stored without the checks (as by an older version): the middle one cannot apply.
        with service.intake.transaction():
            inbox.put(service.intake, [
                {"kind": kind, "account": None, "key": None, "payload": payload,
                 "received_at": T0}
                for kind, payload in (("upsert_account", {"id": "a1"}), ("enable", "ghost"),
                                      ("upsert_account", {"id": "a2"}))])
        first = service.work_round()
        assert (first.inputs, first.more) == (0, True)  # rolled back; the failed one is out
        assert service.work() == 2
        with service.store.transaction():
            assert sorted(service.store.account_ids()) == ["a1", "a2"]
            assert inbox.pending_count(service.store) == 0
        with service.intake.engine.connect() as connection:
            total, rejected = queries.rejected(connection, "worker", 10, None)
            journal = connection.execute(sa.select(t.journal.c.kind, t.journal.c.payload)
                                         .order_by(t.journal.c.seq)).all()
        assert total == 1 and rejected[0]["message"] == {"enable": "ghost"}
        assert "ghost" in rejected[0]["reason"]
        assert [(k, p) for k, p in journal] == [("upsert_account", {"id": "a1"}),
                                                 ("upsert_account", {"id": "a2"})]
    finally:
        service.close()


JOURNEY = {"id": "j", "entry": {"event": {"type": "signed_up"}}, "start": "a",
           "nodes": {"a": {"end": True}}}


def test_lifecycle_commands_that_would_change_nothing_are_refused(database_url: str) -> None:
    service = Service(database_url, ManualClock(T0))
    try:
        with pytest.raises(DefinitionError) as raised:  # a draft cannot be paused or resumed
            service.submit([{"publish": JOURNEY}, {"pause": "j"}, {"resume": "j"}])
        assert [str(p) for p in raised.value.problems] == [
            "inputs[1].pause: journey 'j' is draft: only an enabled journey can be paused",
            "inputs[2].resume: journey 'j' is draft: only a paused journey can be resumed "
            "(enable it instead)"]
        # Inputs waiting in the inbox count: enabled there, so pausing is fine.
        service.submit([{"publish": JOURNEY}, {"enable": "j"}])
        assert service.submit([{"pause": "j"}, {"resume": "j"}, {"disable": "j"}]) == 3
        with pytest.raises(DefinitionError, match="journey 'j' is disabled: only a paused"):
            service.submit([{"resume": "j"}])
        service.work()
        with service.intake.engine.connect() as connection:
            assert queries.journey_statuses(connection) == {"j": "disabled"}
        assert service.submit([{"enable": "j"}, {"disable": "j"}, {"disable": "j"}]) == 3
    finally:
        service.close()


def test_workspace_configuration_is_checked_before_it_is_stored(database_url: str) -> None:
    service = Service(database_url, ManualClock(T0))
    try:
        service.submit([{"configure": {"segments": [{"id": "gold", "when": {"account.tier": "gold"}}]}}])
        with pytest.raises(DefinitionError) as raised:
            service.submit([{"configure": {
                "segments": [{"id": "vip", "when": {"in_segment": "platinum"}},
                             {"id": "big", "when": {"account.size": {"between": 1}}},
                             {"id": "gold-too", "when": {"in_segment": "gold"}}],
                "templates": [{"id": "t", "subject": "Hi {{ account.name"}]}}])
        places = [p.place for p in raised.value.problems]
        assert places == ["inputs[0].configure.templates[0].subject",
                          "inputs[0].configure.segments[0].when.in_segment",
                          "inputs[0].configure.segments[1].when.account.size.between"]
        with service.intake.transaction():
            assert inbox.pending_count(service.intake) == 1  # only the first configure
    finally:
        service.close()


def test_an_account_names_a_configured_csm(database_url: str) -> None:
    service = Service(database_url, ManualClock(T0))
    try:
        with pytest.raises(DefinitionError, match=r"inputs\[0\].upsert_account.csm: no CSM 'ann'"):
            service.submit([{"upsert_account": {"id": "acme", "csm": "ann"}}])
        assert service.submit([{"configure": {"csms": [{"id": "ann"}]}},
                               {"upsert_account": {"id": "acme", "csm": "ann"}}]) == 2
    finally:
        service.close()
