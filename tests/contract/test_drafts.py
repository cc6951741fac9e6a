"""Drafts and published versions' history in the store (storage.drafts), on SQLite and
PostgreSQL: revisions, stale writes, removal, versions with their source text and publisher,
and a store of the previous schema upgraded to hold them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from itinera.storage import drafts, migrate
from itinera.storage import schema as t
from itinera.storage.engine import create_engine
from itinera.storage.sql import SqlStore

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def test_a_draft_goes_up_a_revision_at_each_change_and_stale_writes_fail(
        database_url: str) -> None:
    store = SqlStore(database_url)
    try:
        with store.engine.begin() as connection:
            made = drafts.create_draft(connection, kind="journey", object_id="j", text="id: j\n",
                                       base_version=None, by="key:a", now=T0)
            other = drafts.create_draft(connection, kind="segment", object_id="s",
                                        text="id: s\n", base_version=None, by="key:a",
                                        now=T0 + timedelta(minutes=1))
        assert made.revision == 1 and made.created_at == "2026-01-05T09:00:00Z"
        with store.engine.begin() as connection:
            saved = drafts.update_draft(connection, made.id, revision=1, text="id: k\n",
                                        object_id="k", by="user:ana",
                                        now=T0 + timedelta(minutes=2))
        assert saved is not None and saved.revision == 2 and saved.text == "id: k\n"
        assert saved.updated_by == "user:ana" and saved.created_by == "key:a"
        with store.engine.begin() as connection, pytest.raises(drafts.StaleRevision) as stale:
            drafts.update_draft(connection, made.id, revision=1, text="lost", object_id=None,
                                by="key:b", now=T0)
        assert stale.value.current == 2
        with store.engine.begin() as connection:
            assert drafts.update_draft(connection, "d_none", revision=1, text="", object_id=None,
                                       by="key:b", now=T0) is None
            assert [d.id for d in drafts.list_drafts(connection)] == [made.id, other.id]
            assert [d.id for d in drafts.list_drafts(connection, "segment")] == [other.id]
            with pytest.raises(drafts.StaleRevision):
                drafts.delete_draft(connection, made.id, 1)
            assert drafts.delete_draft(connection, made.id, 2)
            assert not drafts.delete_draft(connection, made.id)
            found = drafts.get_draft(connection, made.id)
        assert found is None
    finally:
        store.close()


def test_versions_keep_their_source_text_and_publisher(database_url: str) -> None:
    store = SqlStore(database_url)
    try:
        with store.transaction():
            store.put_journey_version("j", 1, {"id": "j"}, T0)
            store.put_journey_version("j", 2, {"id": "j", "name": "J"}, T0 + timedelta(days=1),
                                      "id: j\nname: J  # named\n", "user:ana")
        with store.engine.connect() as connection:
            assert drafts.journey_versions(connection, "j") == [
                {"version": 1, "published_at": "2026-01-05T09:00:00Z", "published_by": None},
                {"version": 2, "published_at": "2026-01-06T09:00:00Z",
                 "published_by": "user:ana"}]
            second = drafts.journey_version(connection, "j", 2)
            assert drafts.journey_version(connection, "j", 3) is None
        assert second is not None and second["source"] == "id: j\nname: J  # named\n"
        assert second["definition"] == {"id": "j", "name": "J"}
    finally:
        store.close()


def test_a_store_of_the_previous_schema_upgrades_and_keeps_its_versions(
        database_url: str) -> None:
    migrate.upgrade(database_url, "0008")
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO journeys (id, version, definition) VALUES ('old', 1, '{\"id\": \"old\"}')"))
        migrate.upgrade(database_url)
        assert migrate.check(database_url) == []
        with engine.connect() as connection:
            [old] = drafts.journey_versions(connection, "old")
            assert old["published_by"] is None
            found = drafts.journey_version(connection, "old", 1)
            assert found is not None and found["source"] is None
            assert connection.execute(sa.select(sa.func.count()).select_from(t.drafts)).scalar() == 0
    finally:
        engine.dispose()
