"""Email tracking, bounces and suppressions (issue 15): ``email_hits`` (tracked clicks and
opens, bots' flagged), ``email_bounces`` (every bounce and complaint received) and
``suppressions`` (addresses no email is sent to).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("email_hits"):  # a store made from a later schema.py has them
        op.create_table(
            "email_hits",
            sa.Column("id", sa.String(), nullable=False),
            sa.Column("effect", sa.Integer(), nullable=False),
            sa.Column("kind", sa.String(), nullable=False),
            sa.Column("journey", sa.String(), nullable=True),
            sa.Column("node", sa.String(), nullable=True),
            sa.Column("template", sa.String(), nullable=True),
            sa.Column("person", sa.String(), nullable=True),
            sa.Column("link", sa.Integer(), nullable=True),
            sa.Column("url", sa.Text(), nullable=True),
            sa.Column("at", INSTANT, nullable=False),
            sa.Column("bot", sa.Boolean(), nullable=False),
            sa.Column("bot_reason", sa.String(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_email_hits_journey_node", "email_hits", ["journey", "node"])
        op.create_index("ix_email_hits_effect_at", "email_hits", ["effect", "at"])
    if not inspector.has_table("email_bounces"):
        op.create_table(
            "email_bounces",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("address", sa.String(), nullable=False),
            sa.Column("kind", sa.String(), nullable=False),
            sa.Column("status", sa.String(), nullable=True),
            sa.Column("detail", sa.Text(), nullable=True),
            sa.Column("source", sa.String(), nullable=False),
            sa.Column("effect", sa.Integer(), nullable=True),
            sa.Column("at", INSTANT, nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_email_bounces_address", "email_bounces", ["address"])
    if not inspector.has_table("suppressions"):
        op.create_table(
            "suppressions",
            sa.Column("address", sa.String(), nullable=False),
            sa.Column("reason", sa.String(), nullable=False),
            sa.Column("source", sa.String(), nullable=False),
            sa.Column("detail", sa.Text(), nullable=True),
            sa.Column("at", INSTANT, nullable=False),
            sa.PrimaryKeyConstraint("address"),
        )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_index("ix_email_bounces_address", table_name="email_bounces")
    op.drop_table("email_bounces")
    op.drop_index("ix_email_hits_effect_at", table_name="email_hits")
    op.drop_index("ix_email_hits_journey_node", table_name="email_hits")
    op.drop_table("email_hits")
