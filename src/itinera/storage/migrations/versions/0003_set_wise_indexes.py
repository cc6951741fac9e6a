"""Indexes for set-wise segments and per-person reads (issue 11).

``ix_events_type_at``: a segment's ``performed`` reads the events of one type in a window for
every account at once; without it SQLite and PostgreSQL read the whole events table.
``ix_effects_person_channel_at``: a frequency cap counts one person's recent deliveries on a
channel at every send; without it, the whole outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A store made before migrations from a later schema.py may have them already.
    op.create_index("ix_events_type_at", "events", ["type", "at"], if_not_exists=True)
    op.create_index("ix_effects_person_channel_at", "effects", ["person", "channel", "at"],
                    if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_effects_person_channel_at", table_name="effects", if_exists=True)
    op.drop_index("ix_events_type_at", table_name="events", if_exists=True)
