"""Error pages for the UI: a browser asking for a ``/ui/`` page that fails (an unknown account, a
malformed parameter, a route that does not exist) gets an HTML page in the UI's layout saying
what went wrong, not the API's JSON problem document. The API's handlers still decide the status
and the words; this only changes how a ``/ui/`` answer is dressed. htmx requests (fragments) keep
the problem document, which htmx does not swap in.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException
from starlette.responses import Response

__all__ = ["install_error_pages"]

Handler = Callable[[Request, Any], Awaitable[Response] | Response]


def install_error_pages(app: FastAPI, templates: Jinja2Templates) -> None:
    """Wrap each of ``app``'s exception handlers (and Starlette's 404/405) so that a ``/ui/``
    page answers with ``error.html``."""
    handlers = dict(app.exception_handlers)
    handlers.setdefault(HTTPException, _plain_http)
    for kind, handler in handlers.items():
        if isinstance(kind, type):
            app.add_exception_handler(kind, _dressed(handler, templates))


async def _plain_http(request: Request, error: HTTPException) -> Response:
    return Response(json.dumps({"status": error.status_code, "detail": error.detail}),
                    status_code=error.status_code, media_type="application/json")


def _dressed(handler: Handler, templates: Jinja2Templates) -> Handler:
    async def dressed(request: Request, error: Any) -> Response:
        answer = handler(request, error)
        response = await answer if isinstance(answer, Awaitable) else answer
        path = request.url.path
        if (not (path == "/ui" or path.startswith("/ui/")) or request.headers.get("hx-request")
                or response.media_type not in ("application/json", "application/problem+json")):
            return response
        try:
            problem = json.loads(bytes(response.body))
        except ValueError:
            return response
        page = templates.TemplateResponse(request, "error.html", {
            "user": None, "status": response.status_code,
            "title": problem.get("title") or "Something went wrong",
            "detail": problem.get("detail"), "errors": problem.get("errors") or []},
            status_code=response.status_code)
        for name in ("retry-after", "www-authenticate"):
            if name in response.headers:
                page.headers[name] = response.headers[name]
        return page

    return dressed
