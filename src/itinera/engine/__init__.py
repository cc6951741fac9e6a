"""The deterministic interpreter: each input is one step; one engine for simulation and live."""

from itinera.engine.catalog import CompiledJourney, Workspace
from itinera.engine.commands import apply_entry
from itinera.engine.engine import Engine, EngineError
from itinera.engine.setup import configure, load_workspace, load_world

__all__ = [
    "CompiledJourney", "Engine", "EngineError", "Workspace", "apply_entry", "configure", "load_workspace",
    "load_world",
]
