"""Scenarios on a virtual clock: the live engine on an embedded store, channels in sandbox."""

from itinera.simulate.result import build_result, check_expectations
from itinera.simulate.runner import Simulation, simulate

__all__ = ["Simulation", "build_result", "check_expectations", "simulate"]
