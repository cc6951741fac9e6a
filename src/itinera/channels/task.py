"""The task channel: Human Intervention Tasks live in the store, so delivering one sends nothing.

The effect itself (title, assignee, due, notes) is the task; a task list or CRM sync reads it
from the store. ``deliver`` only acknowledges it, so the dispatcher can treat every channel alike.
"""

from __future__ import annotations

from itinera.channels.base import Delivery, expect_channel
from itinera.channels.settings import ChannelSettings
from itinera.storage.store import Effect

__all__ = ["TaskChannel", "from_settings"]


class TaskChannel:
    """Acknowledges ``task`` effects: they are stored, not sent."""

    name = "task"

    def deliver(self, effect: Effect) -> Delivery:
        expect_channel(self.name, effect)
        return Delivery(True, "stored")


def from_settings(settings: ChannelSettings) -> TaskChannel:
    """The task channel needs no settings: it is always built."""
    return TaskChannel()
