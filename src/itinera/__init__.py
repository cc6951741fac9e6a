"""Itinera: account-journey orchestration — journeys as code, testable before they go live."""

from itinera.errors import DefinitionError, ItineraError, Problem, StoreError

__version__ = "0.1.0"

__all__ = ["DefinitionError", "ItineraError", "Problem", "StoreError", "__version__"]
