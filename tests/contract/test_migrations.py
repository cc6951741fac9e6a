"""Schema migrations (Alembic), on SQLite files and PostgreSQL.

``test_upgrade_creates_exactly_the_schema`` is the guard that a change to
``storage/schema.py`` comes with a migration: it fails until the migrations build exactly the
tables, columns, types and indexes of the metadata.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from typer.testing import CliRunner

from itinera.cli.main import app
from itinera.domain.model import Account
from itinera.storage import migrate
from itinera.storage.engine import create_engine
from itinera.storage.schema import metadata
from itinera.storage.sql import SqlStore

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()


def _execute(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def test_upgrade_creates_exactly_the_schema(database_url: str) -> None:
    assert migrate.current(database_url) is None
    assert len(migrate.check(database_url)) > len(metadata.tables)  # every table and index

    migrate.upgrade(database_url)

    assert migrate.check(database_url) == []
    assert migrate.current(database_url) == migrate.head()
    assert _tables(database_url) == set(metadata.tables) | {"alembic_version"}


def _catalog(connection: sa.Connection) -> list[tuple[object, ...]]:
    """The schema as the database itself describes it (DDL on SQLite; columns, defaults,
    indexes and constraints on PostgreSQL), without the migrations' version table."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE tbl_name != 'alembic_version' ORDER BY name").all()
        return [(*row[:3], " ".join((row[3] or "").split())) for row in rows]
    schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
    queries = [
        "SELECT table_name, column_name, ordinal_position, data_type, is_nullable,"
        " column_default FROM information_schema.columns WHERE table_schema = current_schema()",
        "SELECT tablename, indexname, indexdef FROM pg_indexes"
        " WHERE schemaname = current_schema()",
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE connamespace = current_schema()::regnamespace",
    ]
    found = [tuple(str(v).replace(f"{schema}.", "") for v in row)
             for query in queries for row in connection.exec_driver_sql(query)]
    return sorted(row for row in found if "alembic_version" not in row[0])


def test_the_migrated_schema_is_the_create_all_schema(database_url: str) -> None:
    """Beyond ``check``: what autogenerate does not compare (SQLite AUTOINCREMENT, SERIAL or
    not, constraint names) must agree too."""
    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            migrated = _catalog(connection)
        if engine.dialect.name == "sqlite":
            reference_engine = create_engine("sqlite://")
            metadata.create_all(reference_engine)
            with reference_engine.connect() as connection:
                reference = _catalog(connection)
            reference_engine.dispose()
        else:  # in a scratch schema, rolled back (DDL is transactional on PostgreSQL)
            with engine.connect() as connection, connection.begin() as transaction:
                scratch = f"ref_{uuid.uuid4().hex[:12]}"
                connection.exec_driver_sql(f"CREATE SCHEMA {scratch}")
                connection.exec_driver_sql(f"SET LOCAL search_path TO {scratch}")
                metadata.create_all(connection)
                reference = _catalog(connection)
                transaction.rollback()
    finally:
        engine.dispose()
    assert migrated == reference


def test_upgrade_is_idempotent(database_url: str) -> None:
    migrate.upgrade(database_url)
    migrate.upgrade(database_url)
    migrate.upgrade(database_url, migrate.head())
    assert migrate.current(database_url) == migrate.head()
    assert migrate.check(database_url) == []


def test_check_reports_what_differs(database_url: str) -> None:
    migrate.upgrade(database_url)
    _execute(database_url, "DROP INDEX ix_timers_due", "ALTER TABLE accounts ADD COLUMN extra TEXT")
    differences = migrate.check(database_url)
    assert "remove_column accounts.extra" in differences
    assert "add_index ix_timers_due on timers (due_at, id)" in differences
    assert len(differences) == 2


def test_a_database_created_before_migrations_is_stamped_and_kept(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()
    store = SqlStore(database_url, create=False)
    with store.transaction():
        store.save_account(Account("acme", {"name": "Acme"}, created_at=T0))
    store.close()
    assert migrate.current(database_url) is None

    migrate.upgrade(database_url)

    assert migrate.current(database_url) == migrate.head()
    assert migrate.check(database_url) == []
    store = SqlStore(database_url)
    try:
        found = store.account("acme")
        assert found is not None and found.attributes == {"name": "Acme"}
    finally:
        store.close()


def test_an_incomplete_early_database_gets_its_missing_tables(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        metadata.create_all(engine, tables=[metadata.tables["accounts"], metadata.tables["events"]])
    finally:
        engine.dispose()
    migrate.upgrade(database_url)
    assert migrate.current(database_url) == migrate.head()
    assert migrate.check(database_url) == []


def test_a_store_creates_its_schema_by_migrations_and_works(database_url: str) -> None:
    store = SqlStore(database_url)
    try:
        assert migrate.current(database_url) == migrate.head()
        with store.transaction():
            store.save_account(Account("acme", {"tier": "gold"}, created_at=T0, csm="ann"))
        with store.transaction():
            found = store.account("acme")
            # the instant function of conditions is installed on every start
            instant = store.conn.execute(sa.text("SELECT itinera_instant('1970-01-02T00:00:00Z')"))
            assert instant.scalar() == 86400.0
        assert found is not None and (found.attributes, found.csm, found.created_at) == (
            {"tier": "gold"}, "ann", T0)
    finally:
        store.close()
    reopened = SqlStore(database_url, exclusive=False)
    try:
        assert reopened.account_ids() == ["acme"]
    finally:
        reopened.close()
    assert migrate.check(database_url) == []


def test_a_store_on_a_migrated_database(database_url: str) -> None:
    migrate.upgrade(database_url)
    store = SqlStore(database_url)
    try:
        with store.transaction():
            store.save_account(Account("acme", {}, created_at=T0))
        with store.transaction():
            assert store.account("acme") is not None
    finally:
        store.close()


def test_in_memory_stores_skip_migrations() -> None:
    store = SqlStore("sqlite://")
    try:
        tables = set(sa.inspect(store.engine).get_table_names())
        assert tables == set(metadata.tables)  # created by create_all: no alembic_version
    finally:
        store.close()


def test_downgrade_to_base_removes_everything(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            command.downgrade(migrate.config(connection=connection), "base")
    finally:
        engine.dispose()
    assert _tables(database_url) <= {"alembic_version"}
    migrate.upgrade(database_url)
    assert migrate.check(database_url) == []


def test_the_environment_also_runs_from_a_url(database_url: str) -> None:
    command.upgrade(migrate.config(database_url), "head")
    assert migrate.current(database_url) == migrate.head()
    assert migrate.check(database_url) == []


def test_db_commands(database_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["db", "current", "--database", database_url])
    assert (result.exit_code, result.stdout.strip()) == (0, "none")
    result = runner.invoke(app, ["db", "check", "--database", database_url])
    assert result.exit_code == 1
    assert "add_table accounts (id, seq, attributes, csm, created_at, playbooks, moments)" in (
        result.stdout.splitlines())

    result = runner.invoke(app, ["db", "upgrade", "--database", database_url])
    assert (result.exit_code, result.stdout.strip()) == (0, f"at {migrate.head()}")

    result = runner.invoke(app, ["db", "current"], env={"ITINERA_DATABASE": database_url})
    assert (result.exit_code, result.stdout.strip()) == (0, migrate.head())
    result = runner.invoke(app, ["db", "check"], env={"ITINERA_DATABASE": database_url})
    assert (result.exit_code, result.stdout.strip()) == (0, f"in sync ({migrate.head()})")


def test_db_commands_default_to_a_local_sqlite_file(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ITINERA_DATABASE", raising=False)
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert migrate.current("sqlite:///itinera.db") == migrate.head()


def test_db_commands_report_an_unusable_database() -> None:
    result = CliRunner().invoke(
        app, ["db", "current", "--database", "postgresql+psycopg://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 2
    assert "database error" in result.stderr
