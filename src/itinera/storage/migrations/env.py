"""Alembic's environment script for an Itinera store (run by Alembic, not imported).

Online only, and on one of two connections: the one passed in
``config.attributes["connection"]`` (how ``itinera.storage.migrate`` drives it; the caller owns
the transaction), or else a new one to ``sqlalchemy.url`` of the configuration. Operations are
rendered and run in batch mode (``render_as_batch``), so that column changes work on SQLite,
which can only ALTER by copying a table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from itinera.storage.schema import metadata

__all__ = ["run_migrations", "target_metadata"]

target_metadata = metadata


def _run(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    """Run the migrations Alembic asked for, on the given connection or on a new one."""
    if context.is_offline_mode():
        raise RuntimeError("Itinera migrations run online only (no --sql)")
    config = context.config
    connection = config.attributes.get("connection")
    if isinstance(connection, sa.Connection):
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: set sqlalchemy.url or attributes['connection']")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as new_connection:
            _run(new_connection)
            new_connection.commit()
    finally:
        engine.dispose()


# Alembic executes this file within an EnvironmentContext, which sets ``context.config``;
# merely importing the module (as the public-API test does) defines the functions only.
if hasattr(context, "config"):
    run_migrations()
