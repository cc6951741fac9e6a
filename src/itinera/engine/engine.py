"""The engine: every input — data, event, lifecycle command, timer — is one step.

``Engine`` is the one object the simulator and the live runtime drive. Its parts live beside
it: ``core`` (a step: data, segments, checks of active enrollments, enrollment), ``inputs``
(data and timers), ``lifecycle`` (publish, enable, pause, resume, disable), ``paths`` (what each
node does), ``actions`` (what each action does).
"""

from __future__ import annotations

from itinera.engine.core import EngineError
from itinera.engine.inputs import Inputs
from itinera.engine.lifecycle import Lifecycle

__all__ = ["Engine", "EngineError"]


class Engine(Inputs, Lifecycle):
    """Runs journeys over a store: ``Engine(store, sandbox=True)`` for simulations."""
