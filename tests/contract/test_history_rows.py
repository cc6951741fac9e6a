"""History entries an enrollment records at one instant share a row; they read back one by one,
in order, beside rows of one entry (every backend)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from itinera.storage import queries
from itinera.storage import schema as t
from itinera.storage.sql import SqlStore

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)


def _entries(store: SqlStore, enrollment: int) -> list[tuple[str | None, str]]:
    return [(h["node"], h["n"]) for h in store.history(enrollment)]


def test_entries_of_one_instant_share_a_row_and_read_back_in_order(store: SqlStore) -> None:
    with store.transaction():
        store.add_history(1, T0, "wait", {"n": "a"})
        store.add_history(1, T0, "email", {"n": "b"})
        store.add_history(1, T0, None, {"n": "c"})
        store.add_history(2, T0, "wait", {"n": "d"})  # another enrollment: a row of its own
        store.add_history(1, T0, "wait", {"n": "e"})  # after another's: a row of its own
        store.add_history(1, T1, "email", {"n": "f"})  # another instant: a row of its own
    with store.transaction():
        assert _entries(store, 1) == [("wait", "a"), ("email", "b"), (None, "c"), ("wait", "e"),
                                      ("email", "f")]
        assert _entries(store, 2) == [("wait", "d")]
        rows = store.conn.execute(sa.select(sa.func.count()).select_from(t.history)).scalar()
        assert rows == 4
        read = [(h["node"], h["n"], h["at"]) for h in queries.history(store.conn, 1)]
        assert read == [("wait", "a", "2026-01-05T09:00:00Z"), ("email", "b", "2026-01-05T09:00:00Z"),
                        (None, "c", "2026-01-05T09:00:00Z"), ("wait", "e", "2026-01-05T09:00:00Z"),
                        ("email", "f", "2026-01-05T09:01:00Z")]


def test_a_row_already_written_takes_no_more_entries(store: SqlStore) -> None:
    with store.transaction():
        store.add_history(1, T0, "wait", {"n": "a"})
        assert store.history(1)  # a read sends the buffer
        store.add_history(1, T0, "email", {"n": "b"})
    with store.transaction():
        assert _entries(store, 1) == [("wait", "a"), ("email", "b")]


def test_entries_after_a_rollback_are_kept(store: SqlStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.add_history(1, T0, "wait", {"n": "lost"})
        raise RuntimeError("rolled back")
    with store.transaction():
        store.set_membership("acme", "s", True)  # another write where the lost row was
        store.add_history(1, T0, "wait", {"n": "a"})
        store.add_history(1, T0, "email", {"n": "b"})
    with store.transaction():
        assert _entries(store, 1) == [("wait", "a"), ("email", "b")]
