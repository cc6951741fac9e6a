"""An index on the timers' account: a round loads the timers of the accounts it holds, and
without it PostgreSQL read the whole table (dead rows too) in every round.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A store made before migrations from a later schema.py may have it already.
    op.create_index("ix_timers_account", "timers", ["account"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_timers_account", table_name="timers", if_exists=True)
