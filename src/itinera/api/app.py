"""The REST API of a live Itinera, as a FastAPI application over a :class:`Service`.

Thin by design: writes are inputs handed to ``Service.submit`` (the worker applies them), reads
are SQL in ``storage.queries``. Every endpoint but ``/health`` needs an API key; errors are
problem documents (RFC 9457); the OpenAPI description is at ``/openapi.json``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy.exc import SQLAlchemyError

from itinera import __version__
from itinera.api import (
    routes_accounts,
    routes_analytics,
    routes_audit,
    routes_catalog,
    routes_checks,
    routes_deliveries,
    routes_draft_checks,
    routes_drafts,
    routes_impact,
    routes_ingest,
    routes_journeys,
    routes_me,
    routes_reviews,
    routes_scenarios,
    routes_segment,
    routes_tracking,
    routes_unsubscribe,
    routes_versions,
    routes_work,
)
from itinera.api.auth import READ, SECURITY_SCHEMES
from itinera.api.context import ApiContext, Ctx
from itinera.api.problems import ApiProblem, declare_problems, install_handlers
from itinera.api.rate_limits import DEFAULT_RATE, RateLimits
from itinera.api.schemas import component_schemas
from itinera.channels.settings import SmtpSettings
from itinera.runtime.service import Service
from itinera.studio.runs import Runs
from itinera.web.mount import install_ui

__all__ = ["create_app"]

_DESCRIPTION = """Account-journey orchestration, live.

* **Ingestion**: Segment's tracking API at `/v1` (point an SDK's host here, the API key as its
  write key) and Itinera's bulk API at `/api/accounts`, `/api/people`, `/api/buying-groups`,
  `/api/events` and `/api/inputs`. Writes are stored durably and applied by the worker within
  moments (`202`); add `?wait=true` to answer once they are applied.
* **Accounts**: read back what was ingested: `/api/accounts?q=` finds accounts by id prefix or
  name (paged), `/api/accounts/{id}` gives one with its people, buying groups, segments and
  enrollments, `/api/accounts/{id}/events` its latest events, `/api/people/{id}` a person.
  Reads show what the worker has applied: write with `?wait=true` to read it back at once.
* **Journeys**: validate, publish versions, enable, pause, resume, disable.
* **Results**: enrollments with their history, tasks, rejected messages, and deliveries: every
  effect with its delivery state, dead letters included (`?status=dead`), which can be retried.

Authenticate with an API key (`itinera keys create NAME --scope ...`): HTTP Basic with the key as
the user name and an empty password, or `Authorization: Bearer <key>`. The UI's pages call the
API with their session cookie instead (writes carry `X-CSRF-Token`). Each operation needs a
permission held by roles of users and scopes of keys; a 403 names the role and the scope needed
(docs/security.md); `GET /api/me` says what the caller holds. Ingest keys are rate-limited (429
with `Retry-After`). Errors are
`application/problem+json` (RFC 9457); validation errors list `errors: [{place, message}]`.
"""


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, routes=app.routes,
                               description=app.description)
        components = document.setdefault("components", {})
        components.setdefault("schemas", {}).update(component_schemas())
        components["securitySchemes"] = SECURITY_SCHEMES
        document["security"] = [{name: []} for name in SECURITY_SCHEMES]
        declare_problems(document)
        app.openapi_schema = document
    return app.openapi_schema


def create_app(service: Service, unsubscribe_secret: str | None = None,
               smtp: SmtpSettings | None = None,
               ingest_rate: float | None = DEFAULT_RATE) -> FastAPI:
    """The API over ``service`` (which the caller closes; a worker applies what it receives).
    ``unsubscribe_secret`` verifies the tokens of emails' unsubscribe links; ``smtp`` is the
    relay templates' test emails go through (none: they are refused). ``ingest_rate`` is the
    requests per second of an ingest key without a rate of its own (None: unlimited)."""
    app = FastAPI(title="Itinera", version=__version__, description=_DESCRIPTION,
                  openapi_url=None, docs_url=None, redoc_url=None)
    app.state.itinera = ApiContext(service)
    app.state.unsubscribe_secret = unsubscribe_secret
    app.state.smtp = smtp
    app.state.rate_limits = RateLimits(ingest_rate)  # this process's buckets
    app.state.studio_runs = Runs()  # the studio's checks: child processes, two at a time
    install_handlers(app)
    for module in (routes_segment, routes_ingest, routes_journeys, routes_analytics, routes_work,
                   routes_deliveries, routes_unsubscribe, routes_accounts, routes_checks,
                   routes_impact, routes_scenarios, routes_audit,
                   routes_drafts, routes_versions, routes_catalog,  # the studio's
                   routes_tracking, routes_reviews):
        app.include_router(module.router)
    app.include_router(routes_draft_checks.router)  # the studio's tests of a draft
    app.include_router(routes_me.router)  # who the caller is (users)
    install_ui(app)  # the web UI at /ui (signs in with an API key too)

    @app.get("/health", tags=["service"], openapi_extra={"security": []})
    def health(context: Ctx) -> dict[str, str]:
        """Whether the service can reach its database (no API key needed)."""
        try:
            with context.read() as connection:
                connection.execute(sa.text("SELECT 1"))
        except SQLAlchemyError as error:
            raise ApiProblem(503, "unavailable", f"the database is unreachable: {error}") from None
        return {"status": "ok"}

    @app.get("/openapi.json", include_in_schema=False, dependencies=READ)
    def openapi() -> dict[str, Any]:
        return _openapi(app)

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
