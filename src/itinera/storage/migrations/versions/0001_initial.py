"""The tables of an Itinera store as first released, and the PostgreSQL instant functions.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Exactly ``itinera.storage.schema`` at the time (``tests/contract/test_migrations.py`` checks
that the migrations and ``schema.py`` agree). ``install_postgres_functions`` is the current
one; stores also (re)install the functions, idempotently, every time they start.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from itinera.conditions.sql import install_postgres_functions

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
INSTANT = sa.DateTime(timezone=True)
_INDEXES = {  # table: (name, columns) in the order schema.py declares them
    "accounts": [("ix_accounts_csm", ["csm"])],
    "people": [("ix_people_account", ["account"])],
    "events": [("ix_events_account_type", ["account", "type"]),
               ("ix_events_person_type", ["person", "type"])],
    "segment_members": [("ix_segment_members_account", ["account"])],
    "enrollments": [("ix_enrollments_account_status", ["account", "status"]),
                    ("ix_enrollments_journey_account", ["journey", "account"])],
    "timers": [("ix_timers_due", ["due_at", "id"])],
    "effects": [("ix_effects_status_next", ["status", "next_attempt_at"])],
    "inbox": [("ix_inbox_account", ["account"])],
    "journal": [("ix_journal_received_at", ["received_at"])],
    "history": [("ix_history_enrollment", ["enrollment"])],
}
_TABLES = ("accounts", "people", "buying_groups", "events", "segment_members", "config", "journeys",
           "counters", "enrollments", "timers", "effects", "inbox", "journal",
           "received", "rejected", "api_keys", "history")
_FUNCTIONS = ("itinera_instant(text)", "itinera_number_instant(double precision)",
              "itinera_json_instant(jsonb)")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("attributes", JSON, nullable=False),
        sa.Column("csm", sa.String(), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("playbooks", JSON, nullable=False),
        sa.Column("moments", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("attributes", JSON, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("unsubscribed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "buying_groups",
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("solution", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("members", JSON, nullable=False),
        sa.Column("engagement_score", sa.Float(), nullable=False),
        sa.Column("completeness_score", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("account", "solution"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("account", sa.String(), nullable=True),
        sa.Column("person", sa.String(), nullable=True),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("properties", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "segment_members",
        sa.Column("segment", sa.String(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("segment", "account"),
    )
    op.create_table(
        "config",
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.PrimaryKeyConstraint("kind", "id"),
    )
    op.create_table(
        "journeys",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("published_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id", "version"),
    )
    op.create_table(
        "counters",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("journey", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("goal_achieved", sa.Boolean(), nullable=False),
        sa.Column("goal_at", INSTANT, nullable=True),
        sa.Column("enrolled_at", INSTANT, nullable=False),
        sa.Column("ended_at", INSTANT, nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("path", JSON, nullable=False),
        sa.Column("variants", JSON, nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "timers",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("due_at", INSTANT, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("account", sa.String(), nullable=True),
        sa.Column("enrollment", sa.Integer(), nullable=True),
        sa.Column("token", sa.Integer(), nullable=True),
        sa.Column("journey", sa.String(), nullable=True),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "effects",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("journey", sa.String(), nullable=True),
        sa.Column("node", sa.String(), nullable=True),
        sa.Column("account", sa.String(), nullable=True),
        sa.Column("person", sa.String(), nullable=True),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", INSTANT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "inbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("account", sa.String(), nullable=True),
        sa.Column("key", sa.String(), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("key"),
        sqlite_autoincrement=True,  # a seq is never reused, even after its row is deleted
    )
    op.create_table(
        "journal",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("account", sa.String(), nullable=True),
        sa.Column("key", sa.String(), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.Column("applied_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "received",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "rejected",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("secret_hash", sa.String(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("revoked_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "history",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("enrollment", sa.Integer(), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("node", sa.String(), nullable=True),
        sa.Column("entry", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for table, indexes in _INDEXES.items():
        for name, columns in indexes:
            op.create_index(name, table, columns, unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        install_postgres_functions(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for function in _FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
    for table in reversed(_TABLES):  # with their indexes
        op.drop_table(table)
