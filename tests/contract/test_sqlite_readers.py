"""On a SQLite file, a connection marked as a reader (the API's reads) begins without the write
lock: it reads while a writer (the worker's round) holds the lock, and sees the last commit."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from itinera.storage import schema as t
from itinera.storage.engine import READER, create_engine


def test_a_reader_reads_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/store.db")
    try:
        t.metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(t.counters.insert().values(key="n", value=1))
        with engine.connect() as writer, engine.connect() as reader:
            reader.execution_options(**{READER: True})
            with writer.begin():
                writer.execute(t.counters.update().values(value=2))
                with reader.begin():  # as a writer, it would wait here for the lock
                    seen = reader.execute(sa.select(t.counters.c.value)).scalar()
            assert seen == 1  # the committed value; the writer's change is not visible yet
            with engine.connect() as other, other.begin():  # a writer still takes the lock
                assert other.execute(sa.select(t.counters.c.value)).scalar() == 2
    finally:
        engine.dispose()
