"""Scoped API keys and server-side UI sessions (issue 13).

``api_keys.scope`` is what a key may do (ingest, read, write, admin); the keys a store already
has were all full admins, so they become ``admin`` and keep working as before. ``sessions``
maps the random token in a signed-in browser's cookie (kept as its sha256) to a key, with an
expiry: the cookie no longer holds the key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A store made before migrations from a later schema.py may have them already.
    inspector = sa.inspect(op.get_bind())
    if "scope" not in {column["name"] for column in inspector.get_columns("api_keys")}:
        with op.batch_alter_table("api_keys") as table:  # SQLite: a new column with a default
            table.add_column(sa.Column("scope", sa.String(), nullable=False,
                                       server_default="admin"))
    if inspector.has_table("sessions"):
        return
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("expires_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sessions_key_id", "sessions", ["key_id"])


def downgrade() -> None:
    op.drop_index("ix_sessions_key_id", table_name="sessions")
    op.drop_table("sessions")
    with op.batch_alter_table("api_keys") as table:
        table.drop_column("scope")
