"""Serving the UI from the API's FastAPI application: templates, static files, routes, and
sending browsers without a valid key to the login page."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from itinera.web import (
    routes_accounts,
    routes_admin,
    routes_audit,
    routes_journeys,
    routes_login,
    routes_reviews,
    routes_studio,
    routes_suppressions,
    routes_tasks,
    routes_templates,
    routes_versions,
)
from itinera.web.auth import LoginRequired
from itinera.web.errors import install_error_pages
from itinera.web.pages import make_templates
from itinera.web.routes_draft_tests import router as draft_tests_router
from itinera.web.routes_segments import router as segments_router

__all__ = ["install_ui"]

STATIC_DIR = Path(__file__).parent / "static"


def install_ui(app: FastAPI) -> None:
    """Serve the UI from ``app`` (an app made by ``itinera.api.create_app``)."""
    app.state.itinera_ui = make_templates()
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    # routes_versions before routes_journeys: its POST .../publish is no lifecycle command.
    for module in (routes_login, routes_versions, routes_journeys, routes_accounts, routes_tasks,
                   routes_templates, routes_studio, routes_admin):
        app.include_router(module.router)
    app.include_router(segments_router)  # the studio's segment editor
    app.include_router(draft_tests_router)  # the studio's Test panel
    app.include_router(routes_suppressions.router)  # bounced and complained addresses
    app.include_router(routes_reviews.router)  # the approval workflow's queue and panel
    app.include_router(routes_audit.router)  # the audit log

    @app.get("/", include_in_schema=False)
    def home() -> Response:  # a browser opening the service's address lands on the UI
        return RedirectResponse("/ui/", status_code=307)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:  # what browsers ask for before reading the page's icon link
        return RedirectResponse("/ui/static/favicon.svg", status_code=308)

    install_error_pages(app, app.state.itinera_ui)

    @app.exception_handler(LoginRequired)
    def to_login(request: Request, error: LoginRequired) -> Response:
        if request.headers.get("hx-request"):  # htmx: reload the whole page, to the login form
            return Response(status_code=204, headers={"HX-Redirect": "/ui/login"})
        return RedirectResponse(f"/ui/login?next={quote(error.next, safe='/')}", status_code=303)
