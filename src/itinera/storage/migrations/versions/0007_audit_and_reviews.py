"""The audit log and the approval workflow's reviews (issue 13).

``audit`` is append-only: triggers make the database refuse to update or delete an entry
(SQLite: ``RAISE(ABORT)``; PostgreSQL: a trigger function, TRUNCATE included). ``reviews``
holds each content submitted for review (by its sha256) and the decision on it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
APPEND_ONLY: dict[str, tuple[str, ...]] = {  # as storage.schema.APPEND_ONLY at this revision
    "sqlite": (
        "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ),
    "postgresql": (
        "CREATE OR REPLACE FUNCTION itinera_audit_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS audit_append_only ON audit",
        "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit "
        "FOR EACH ROW EXECUTE FUNCTION itinera_audit_append_only()",
        "DROP TRIGGER IF EXISTS audit_no_truncate ON audit",
        "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
        "FOR EACH STATEMENT EXECUTE FUNCTION itinera_audit_append_only()",
    ),
}


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    # A store made before migrations from a later schema.py may have them already.
    if not inspector.has_table("audit"):
        op.create_table(
            "audit",
            sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
            sa.Column("at", INSTANT, nullable=False),
            sa.Column("actor_kind", sa.String(), nullable=False),
            sa.Column("actor_id", sa.String(), nullable=False),
            sa.Column("actor_name", sa.String(), nullable=False),
            sa.Column("address", sa.String(), nullable=True),
            sa.Column("kind", sa.String(), nullable=False),
            sa.Column("object_kind", sa.String(), nullable=False),
            sa.Column("object_id", sa.String(), nullable=False),
            sa.Column("before", JSON, nullable=True),
            sa.Column("after", JSON, nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sqlite_autoincrement=True,
        )
        op.create_index("ix_audit_at", "audit", ["at"])
        op.create_index("ix_audit_object", "audit", ["object_kind", "object_id"])
        op.create_index("ix_audit_actor", "audit", ["actor_id"])
    for statement in APPEND_ONLY.get(bind.dialect.name, ()):
        op.execute(statement)
    if not inspector.has_table("reviews"):
        op.create_table(
            "reviews",
            sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
            sa.Column("kind", sa.String(), nullable=False),
            sa.Column("object_id", sa.String(), nullable=False),
            sa.Column("content_hash", sa.String(), nullable=False),
            sa.Column("content", JSON, nullable=False),
            sa.Column("draft_id", sa.Integer(), nullable=True),
            sa.Column("state", sa.String(), nullable=False),
            sa.Column("note", sa.Text(), nullable=True),
            sa.Column("submitted_by", JSON, nullable=False),
            sa.Column("submitted_at", INSTANT, nullable=False),
            sa.Column("comment", sa.Text(), nullable=True),
            sa.Column("decided_by", JSON, nullable=True),
            sa.Column("decided_at", INSTANT, nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sqlite_autoincrement=True,
        )
        op.create_index("ix_reviews_object", "reviews", ["kind", "object_id", "content_hash"])
        op.create_index("ix_reviews_state", "reviews", ["state"])


def downgrade() -> None:
    op.drop_index("ix_reviews_state", table_name="reviews")
    op.drop_index("ix_reviews_object", table_name="reviews")
    op.drop_table("reviews")
    op.drop_index("ix_audit_actor", table_name="audit")
    op.drop_index("ix_audit_object", table_name="audit")
    op.drop_index("ix_audit_at", table_name="audit")
    op.drop_table("audit")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS itinera_audit_append_only()")
