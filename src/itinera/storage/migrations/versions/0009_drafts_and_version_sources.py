"""The studio's drafts, and each published journey version's source text and publisher
(issue 12).

``drafts`` holds unpublished journey, segment and template texts with a revision for optimistic
concurrency. ``journeys.source`` / ``journeys.published_by``: the YAML text a version was
published from and who published it; versions published before stay without (null).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A store made before migrations from a later schema.py may have them already.
    inspector = sa.inspect(op.get_bind())
    columns = {column["name"] for column in inspector.get_columns("journeys")}
    if "source" not in columns:
        with op.batch_alter_table("journeys") as table:
            table.add_column(sa.Column("source", sa.Text(), nullable=True))
            table.add_column(sa.Column("published_by", sa.String(), nullable=True))
    if inspector.has_table("drafts"):
        return
    op.create_table(
        "drafts",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("object_id", sa.String(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_drafts_kind_object", "drafts", ["kind", "object_id"])


def downgrade() -> None:
    op.drop_index("ix_drafts_kind_object", table_name="drafts")
    op.drop_table("drafts")
    with op.batch_alter_table("journeys") as table:
        table.drop_column("published_by")
        table.drop_column("source")
