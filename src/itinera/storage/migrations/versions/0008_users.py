"""Users who sign in with a name and a password, their sessions, failed sign-ins, and per-key
rate limits (issue 13).

``users`` holds each person's argon2 password hash and role; ``sessions`` may now stand for a
user (``user_id``) as well as a key (``key_id``, no longer required; the table is made afresh,
so browsers signed in before the upgrade sign in again); ``sign_in_failures``
counts failed sign-ins per name and per client address (brute-force protection that holds
across processes); ``api_keys.rate_limit`` is an ingest key's own request rate. Keys a store
already has keep their scope (``admin`` for those from before scopes) and keep working.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 22:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    # A store made before migrations from a later schema.py may have them already.
    if "rate_limit" not in {c["name"] for c in inspector.get_columns("api_keys")}:
        with op.batch_alter_table("api_keys") as table:
            table.add_column(sa.Column("rate_limit", sa.Float(), nullable=True))
    if "user_id" not in {c["name"] for c in inspector.get_columns("sessions")}:
        # Sessions last hours: rather than rebuild the table (SQLite cannot relax a column),
        # it is made afresh; browsers signed in before the upgrade sign in again.
        op.drop_index("ix_sessions_key_id", table_name="sessions")
        op.drop_table("sessions")
        _create_sessions(with_user=True)
    if not inspector.has_table("users"):
        op.create_table(
            "users",
            sa.Column("id", sa.String(), nullable=False),
            sa.Column("name", sa.String(), nullable=False),
            sa.Column("password_hash", sa.String(), nullable=False),
            sa.Column("role", sa.String(), nullable=False),
            sa.Column("created_at", INSTANT, nullable=False),
            sa.Column("disabled_at", INSTANT, nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("name"),
        )
    if not inspector.has_table("sign_in_failures"):
        op.create_table(
            "sign_in_failures",
            sa.Column("id", sa.String(), nullable=False),
            sa.Column("failures", sa.Integer(), nullable=False),
            sa.Column("last_at", INSTANT, nullable=False),
            sa.Column("locked_until", INSTANT, nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )


def _create_sessions(with_user: bool) -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("key_id", sa.String(), nullable=with_user),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("expires_at", INSTANT, nullable=False),
        *([sa.Column("user_id", sa.String(), nullable=True)] if with_user else []),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sessions_key_id", "sessions", ["key_id"])
    if with_user:
        op.create_index("ix_sessions_user_id", "sessions", ["user_id"])


def downgrade() -> None:
    op.drop_table("sign_in_failures")
    op.drop_table("users")
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_index("ix_sessions_key_id", table_name="sessions")
    op.drop_table("sessions")  # signed-in browsers sign in again
    _create_sessions(with_user=False)
    with op.batch_alter_table("api_keys") as table:
        table.drop_column("rate_limit")
