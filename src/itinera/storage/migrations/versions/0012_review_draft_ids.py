"""Reviews name the draft they were submitted from by its id, which is text (``d_<hex>``,
migration 0009), not a number as 0007 assumed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    bind = op.get_bind()
    columns = {c["name"]: c for c in sa.inspect(bind).get_columns("reviews")}
    if isinstance(columns["draft_id"]["type"], sa.String):
        return  # made from a later schema.py
    if bind.dialect.name == "postgresql":
        op.alter_column("reviews", "draft_id", type_=sa.String(), existing_nullable=True,
                        postgresql_using="draft_id::text")
        return
    # SQLite: made again as create_all makes it (a batch copy would lose AUTOINCREMENT), rows
    # kept.
    op.drop_index("ix_reviews_state", table_name="reviews")
    op.drop_index("ix_reviews_object", table_name="reviews")
    op.rename_table("reviews", "reviews_0007")
    _create(sa.String())
    op.execute("INSERT INTO reviews SELECT id, kind, object_id, content_hash, content, "
               "CAST(draft_id AS TEXT), state, note, submitted_by, submitted_at, comment, "
               "decided_by, decided_at FROM reviews_0007")
    op.drop_table("reviews_0007")


def _create(draft_id: sa.String | sa.Integer) -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("object_id", sa.String(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("draft_id", draft_id, nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("submitted_by", sa.JSON(), nullable=False),
        sa.Column("submitted_at", INSTANT, nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.JSON(), nullable=True),
        sa.Column("decided_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_reviews_object", "reviews", ["kind", "object_id", "content_hash"])
    op.create_index("ix_reviews_state", "reviews", ["state"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("reviews", "draft_id", type_=sa.Integer(), existing_nullable=True,
                        postgresql_using="NULLIF(draft_id, '')::integer")
        return
    op.drop_index("ix_reviews_state", table_name="reviews")
    op.drop_index("ix_reviews_object", table_name="reviews")
    op.rename_table("reviews", "reviews_0012")
    _create(sa.Integer())
    op.execute("INSERT INTO reviews SELECT id, kind, object_id, content_hash, content, NULL, "
               "state, note, submitted_by, submitted_at, comment, decided_by, decided_at "
               "FROM reviews_0012")
    op.drop_table("reviews_0012")
