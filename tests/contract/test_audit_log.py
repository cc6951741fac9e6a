"""The audit log's storage, on SQLite and PostgreSQL: an entry is written in the transaction of
its change (a change that fails leaves none; an entry never outlives a rolled-back change), the
table is append-only (the database refuses updates and deletes), secrets are redacted, large
values bounded, and the filters find what they say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from itinera.domain.actor import Actor
from itinera.storage import audit, keys
from itinera.storage import schema as t
from itinera.storage.sql import SqlStore

ANA = Actor("user", "u1", "ana", "10.0.0.7")
CI = Actor("key", "k9", "ci", None)
T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _store(database_url: str) -> SqlStore:
    return SqlStore(database_url, exclusive=False)


def test_an_entry_commits_with_its_change_and_only_with_it(database_url: str) -> None:
    store = _store(database_url)
    try:
        with store.engine.begin() as connection:
            key_id, _ = keys.create_api_key(connection, "website", T0, "ingest")
            audit.record(connection, ANA, "key_create", ("key", key_id),
                         after={"name": "website", "scope": "ingest"}, at=T0)

        class Boom(Exception):
            pass

        with pytest.raises(Boom), store.engine.begin() as connection:
            keys.revoke_api_key(connection, key_id, T0)
            audit.record(connection, ANA, "key_revoke", ("key", key_id), at=T0)
            raise Boom  # the change fails after both were written: neither stays

        with store.engine.connect() as connection:
            found = audit.entries(connection, audit.Filters())
            assert [e["kind"] for e in found] == ["key_create"]
            assert [k.revoked_at for k in keys.api_keys(connection)] == [None]
            entry = found[0]
            assert entry["actor"] == {"kind": "user", "id": "u1", "name": "ana",
                                      "label": "user:ana"}
            assert entry["address"] == "10.0.0.7"
            assert entry["object"] == {"kind": "key", "id": key_id}
            assert entry["after"] == {"name": "website", "scope": "ingest"}
            assert entry["at"] == "2026-12-01T09:00:00Z"
    finally:
        store.close()


def test_the_database_refuses_to_change_or_remove_an_entry(database_url: str) -> None:
    store = _store(database_url)
    try:
        with store.engine.begin() as connection:
            audit.record(connection, CI, "publish", ("journey", "onboarding"), at=T0)
        for statement in (sa.update(t.audit).values(kind="enable"), sa.delete(t.audit)):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), \
                    store.engine.begin() as connection:
                connection.execute(statement)
        if store.dialect == "postgresql":
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), \
                    store.engine.begin() as connection:
                connection.execute(sa.text("TRUNCATE audit"))
        with store.engine.connect() as connection:
            assert [e["kind"] for e in audit.entries(connection, audit.Filters())] == ["publish"]
    finally:
        store.close()


def test_secrets_are_redacted_and_large_values_bounded(database_url: str) -> None:
    store = _store(database_url)
    try:
        with store.engine.begin() as connection:
            audit.record(connection, ANA, "user_password_reset", ("user", "u2"),
                         before={"name": "bo", "password_hash": "$argon2id$..."},
                         after={"password": "hunter2", "nested": [{"token": "t0k"}]}, at=T0)
            audit.record(connection, ANA, "publish", ("journey", "big"),
                         after={"text": "x" * (audit.MAX_VALUE + 10)}, at=T0)
        with store.engine.connect() as connection:
            big, reset = audit.entries(connection, audit.Filters())
        assert reset["before"] == {"name": "bo", "password_hash": "[redacted]"}
        assert reset["after"] == {"password": "[redacted]", "nested": [{"token": "[redacted]"}]}
        assert big["after"]["truncated"] is True
        assert big["after"]["bytes"] > audit.MAX_VALUE
        assert len(big["after"]["sha256"]) == 64
    finally:
        store.close()


def test_filters_by_person_object_kind_and_time_paged_newest_first(database_url: str) -> None:
    store = _store(database_url)
    try:
        with store.engine.begin() as connection:
            for i, (actor, kind, obj) in enumerate([
                    (ANA, "publish", ("journey", "onboarding")),
                    (CI, "enable", ("journey", "onboarding")),
                    (ANA, "template_edit", ("template", "welcome")),
                    (CI, "approve", ("template", "welcome")),
                    (ANA, "pause", ("journey", "renewal"))]):
                audit.record(connection, actor, kind, obj, at=T0 + timedelta(hours=i))
        with store.engine.connect() as connection:
            def ids(limit: int = 50, after: int | None = None, **given: object) -> list[str]:
                found = audit.entries(connection, audit.Filters(**given),  # type: ignore[arg-type]
                                      limit, after)
                return [e["kind"] for e in found]

            assert ids() == ["pause", "approve", "template_edit", "enable", "publish"]
            assert ids(actor="user:ana") == ["pause", "template_edit", "publish"]
            assert ids(actor="k9") == ["approve", "enable"]
            assert ids(actor="ci") == ["approve", "enable"]
            assert ids(actor="user:ci") == []
            assert ids(object_kind="journey", object_id="onboarding") == ["enable", "publish"]
            assert ids(object_kind="template") == ["approve", "template_edit"]
            assert ids(kind="approve") == ["approve"]
            assert ids(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3)) == [
                "template_edit", "enable"]
            first = audit.entries(connection, audit.Filters(), 2)
            assert [e["kind"] for e in first] == ["pause", "approve"]
            assert ids(2, first[-1]["id"]) == ["template_edit", "enable"]
    finally:
        store.close()


def test_a_kind_is_a_plain_word() -> None:
    with pytest.raises(ValueError, match="audit kind"):
        audit.record(None, ANA, "Drop Table", ("x", "y"))  # type: ignore[arg-type]
