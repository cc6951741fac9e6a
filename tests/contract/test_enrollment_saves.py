"""An enrollment the store holds is saved by writing only its path and state while nothing else
changed; any other change (status, goal, end, reason, a variant set in place) writes it whole
(every backend)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from itinera.domain.model import Enrollment, Token
from itinera.storage.sql import SqlStore

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _read(store: SqlStore, id: int) -> Enrollment:
    with store.transaction():
        found = store.enrollment(id)
    assert found is not None
    return found


def _moved(e: Enrollment) -> None:  # the path and state alone
    e.path.append(e.tokens[0].node if e.tokens else "end")
    if e.tokens:
        e.tokens[0].node = "email"


def _variant(e: Enrollment) -> None:  # changed in place
    e.variants["subject"] = "bold"


def _goal(e: Enrollment) -> None:
    e.goal_achieved, e.goal_at = True, T0


def _ended(e: Enrollment) -> None:
    e.status, e.reason, e.ended_at = "completed", "completed", T0 + timedelta(days=1)
    e.tokens.clear()


def test_each_change_is_saved_whichever_object_saves_it(store: SqlStore) -> None:
    enrollment = Enrollment(3, "j", 1, "acme", T0, tokens=[Token(1, "wait", ["p1"])])
    with store.transaction():
        store.save_enrollment(enrollment)
    for i, change in enumerate([_moved, _moved, _variant, _goal, _moved, _ended]):
        # alternately the same object, and one read afresh from the store
        current = enrollment if i % 2 == 0 else _read(store, 3)
        change(current)
        with store.transaction():
            store.save_enrollment(current)
        assert _read(store, 3) == current, i
        enrollment = current
    final = _read(store, 3)
    assert (final.status, final.goal_achieved, final.variants, final.path) == (
        "completed", True, {"subject": "bold"}, ["wait", "email", "email"])


def test_a_change_saved_in_a_transaction_that_rolled_back_is_saved_whole_next_time(
        store: SqlStore) -> None:
    e = Enrollment(3, "j", 1, "acme", T0, tokens=[Token(1, "wait", ["p1"])])
    with store.transaction():
        store.save_enrollment(e)
    _ended(e)
    with pytest.raises(RuntimeError), store.transaction():
        store.save_enrollment(e)
        raise RuntimeError("the round fails after the save")
    assert _read(store, 3).status == "active"
    with store.transaction():  # the same object, unchanged since
        store.save_enrollment(e)
    found = _read(store, 3)
    assert (found.status, found.reason, found.tokens) == ("completed", "completed", [])
