"""Journey analytics: funnels, goal conversion, per-day series and experiment statistics.

SQL reads live in :mod:`~itinera.analytics.queries`, the statistics in
:mod:`~itinera.analytics.experiments`, the assembled report in :mod:`~itinera.analytics.report`.
"""

from itinera.analytics.report import JourneyNotFound, JourneySummary, NodeCounts, journey_summary, node_counts

__all__ = ["JourneyNotFound", "JourneySummary", "NodeCounts", "journey_summary", "node_counts"]
