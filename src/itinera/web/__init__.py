"""The web UI at ``/ui``: server-rendered pages (Jinja2, htmx vendored as a static file; no
Node at build or run time) over the same service, queries and analytics as the REST API.

Pages: journeys (status, counts, goal conversion), a journey's graph with live per-node counts,
its rules in words, lifecycle controls and report charts; accounts and their timelines of
events and decisions; the CSMs' task inbox; template previews. See docs/ui.md.
"""

from __future__ import annotations

from itinera.web.auth import login_link
from itinera.web.mount import install_ui

__all__ = ["install_ui", "login_link"]
