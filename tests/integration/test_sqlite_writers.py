"""SQLite writers queue on the database's write-lock file (storage/sqlite_writers.py): a second
writer waits for the first to commit or roll back — in the kernel, not in SQLite's busy handler —
and readers never wait."""

from __future__ import annotations

import fcntl
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from itinera.storage import sqlite_writers
from itinera.storage.engine import READER, create_engine
from itinera.storage.sqlite_writers import QueuedWriterConnection


def _setup(path: Path) -> tuple[sa.Engine, sa.Engine]:
    url = f"sqlite:///{path}"
    first, second = create_engine(url), create_engine(url)
    with first.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    return first, second


def _write_in_thread(engine: sa.Engine, log: list[str]) -> threading.Thread:
    def write() -> None:
        with engine.begin() as connection:
            log.append("second began")
            connection.exec_driver_sql("INSERT INTO t VALUES (2)")

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_a_second_writer_waits_for_the_first_to_commit(tmp_path: Path) -> None:
    first, second = _setup(tmp_path / "w.db")
    log: list[str] = []
    with first.connect() as connection:
        with connection.begin():
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            thread = _write_in_thread(second, log)
            thread.join(0.3)
            assert log == []  # still waiting
            log.append("first committing")
        thread.join(10)
    assert log == ["first committing", "second began"]
    with second.connect() as connection:
        assert [r[0] for r in connection.exec_driver_sql("SELECT x FROM t ORDER BY x")] == [1, 2]
    first.dispose()
    second.dispose()


def test_a_rollback_or_a_closed_connection_lets_the_next_writer_in(tmp_path: Path) -> None:
    first, second = _setup(tmp_path / "w.db")
    log: list[str] = []
    with first.connect() as connection:
        transaction = connection.begin()
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        thread = _write_in_thread(second, log)
        thread.join(0.2)
        assert log == []
        transaction.rollback()
        thread.join(10)
    assert log == ["second began"]

    raw = first.raw_connection()  # a connection closed in the middle of a write transaction
    raw.dbapi_connection.begin_write()  # type: ignore[union-attr]
    thread = _write_in_thread(second, log)
    thread.join(0.2)
    assert log == ["second began"]
    raw.invalidate()  # closes the driver's connection
    thread.join(10)
    assert log == ["second began", "second began"]
    first.dispose()
    second.dispose()


def test_readers_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    first, second = _setup(tmp_path / "w.db")
    with first.connect() as writer, writer.begin():
        writer.exec_driver_sql("INSERT INTO t VALUES (1)")
        with second.connect() as reader:
            reader = reader.execution_options(**{READER: True})
            with reader.begin():  # would wait for the file lock if it took it
                assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    first.dispose()
    second.dispose()


def test_writers_wait_on_the_lock_file_itself(tmp_path: Path) -> None:
    """Whoever holds ``<database>.write-lock`` keeps writers out, though SQLite's lock is free:
    writers queue on the file lock first."""
    first, second = _setup(tmp_path / "w.db")
    log: list[str] = []
    with open(tmp_path / "w.db.write-lock", "r+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        thread = _write_in_thread(second, log)
        thread.join(0.3)
        assert log == []
        fcntl.flock(lock, fcntl.LOCK_UN)
        thread.join(10)
    assert log == ["second began"]
    first.dispose()
    second.dispose()


def test_a_thread_writing_on_two_connections_gets_sqlites_answer_not_a_hang(
        tmp_path: Path) -> None:
    path = str(tmp_path / "w.db")
    first = sqlite3.connect(path, factory=QueuedWriterConnection, isolation_level=None,
                            timeout=0.2)
    second = sqlite3.connect(path, factory=QueuedWriterConnection, isolation_level=None,
                             timeout=0.2)
    first.execute("PRAGMA journal_mode=WAL")
    first.begin_write()  # type: ignore[attr-defined]
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        second.begin_write()  # type: ignore[attr-defined]
    first.rollback()
    second.begin_write()  # type: ignore[attr-defined]  # free again
    second.rollback()
    first.close()
    second.close()


def test_a_writer_gives_up_after_the_wait_limit(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_writers, "WAIT_LIMIT", 0.3)
    first, second = _setup(tmp_path / "w.db")
    with open(tmp_path / "w.db.write-lock", "r+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process's writer that does not end
        with pytest.raises(sa.exc.OperationalError, match="another process"), second.begin():
            pass
    with second.begin() as connection:  # nothing left held
        connection.exec_driver_sql("INSERT INTO t VALUES (3)")
    first.dispose()
    second.dispose()
