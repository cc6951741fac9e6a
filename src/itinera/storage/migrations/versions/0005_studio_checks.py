"""The studio's checks (issue 12): scenario files kept in the workspace (``scenarios``), run
against draft journeys, and the test emails of templates (``test_emails``), recorded and
rate-limited per actor.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("scenarios"):  # a store made from a later schema.py has them
        op.create_table(
            "scenarios",
            sa.Column("name", sa.String(), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("files", JSON, nullable=False),
            sa.Column("journeys", JSON, nullable=False),
            sa.Column("added_at", INSTANT, nullable=False),
            sa.Column("added_by", sa.String(), nullable=False),
            sa.PrimaryKeyConstraint("name"),
        )
    if not inspector.has_table("test_emails"):
        op.create_table(
            "test_emails",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("at", INSTANT, nullable=False),
            sa.Column("actor", sa.String(), nullable=False),
            sa.Column("actor_label", sa.String(), nullable=False),
            sa.Column("to", sa.String(), nullable=False),
            sa.Column("template", sa.String(), nullable=True),
            sa.Column("person", sa.String(), nullable=True),
            sa.Column("subject", sa.Text(), nullable=False),
            sa.Column("status", sa.String(), nullable=False),
            sa.Column("error", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_test_emails_actor_at", "test_emails", ["actor", "at"])


def downgrade() -> None:
    op.drop_index("ix_test_emails_actor_at", table_name="test_emails")
    op.drop_table("test_emails")
    op.drop_table("scenarios")
