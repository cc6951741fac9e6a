"""An index for one account's effects.

``ix_effects_account_id``: the account page (``views.effects_of``: the latest effects of one
account, newest first) and the task and delivery lists filtered by account read the effects
of one account; without it SQLite and PostgreSQL scan the whole outbox.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A store made before migrations from a later schema.py may have it already.
    op.create_index("ix_effects_account_id", "effects", ["account", "id"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_effects_account_id", table_name="effects", if_exists=True)
