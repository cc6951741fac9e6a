"""The web UI at ``/ui``: server-rendered pages (Jinja2, htmx vendored as a static file; no
Node at build or run time) over the same service, queries and analytics as the REST API.

Pages: journeys (status, counts, goal conversion), a journey's graph with live per-node counts,
its rules in words, lifecycle controls and report charts; accounts and their timelines of
events and decisions; the CSMs' task inbox; template previews. See docs/ui.md.

``web.mount.install_ui`` wires it into the API's application. This package module imports
nothing, so that the pure parts (``web.graph``, ``web.words``) load without the API.
"""

__all__: list[str] = []
