"""An index for a journey's active enrollments by version.

``ix_enrollments_journey_status_version``: the impact preview of a publish
(``storage.impact.waiting_groups``) groups the active enrollments of one journey by version and
node; through ``ix_enrollments_journey_account`` it read every enrollment the journey ever had,
ended ones included.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 23:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A store made before migrations from a later schema.py may have it already.
    op.create_index("ix_enrollments_journey_status_version", "enrollments",
                    ["journey", "status", "version"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_enrollments_journey_status_version", table_name="enrollments",
                  if_exists=True)
