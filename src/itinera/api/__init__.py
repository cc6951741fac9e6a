"""The REST API of a live Itinera: Segment-compatible tracking, bulk ingestion, journeys,
enrollments and tasks (``create_app``); ``itinera serve`` runs it with a worker."""

from itinera.api.app import create_app

__all__ = ["create_app"]
