"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error response has ``type``, ``title``, ``status`` and ``detail``; a validation error
adds ``errors: [{place, message}]``, each place naming where in the request body the problem
is (``[3].id``, ``nodes.check.split[0].next``), as ``itinera validate`` does for files.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from itinera.errors import DefinitionError, ItineraError, Problem

__all__ = [
    "PROBLEM_TYPES",
    "RESPONSES",
    "ApiProblem",
    "declare_problems",
    "install_handlers",
    "invalid",
    "problem_response",
    "too_large",
]

MEDIA_TYPE = "application/problem+json"
_BASE = "urn:itinera:problem:"
PROBLEM_TYPES = {
    "invalid-input": "The request has problems; each is listed with its place",
    "unauthorized": "An API key is required",
    "not-found": "Not found",
    "conflict": "The request conflicts with the current state",
    "too-large": "The request is larger than the endpoint takes",
    "not-applied": "The inputs were stored but could not be applied",
    "unavailable": "The service cannot answer now",
}


# The problems operations answer, as /openapi.json declares them: 401 where an API key is asked
# for (all but /health and /unsubscribe), 422 where there is anything to check (parameters,
# bodies; the key's, since any query is checked), 400 and 413 where there is a body, 404 where
# the path names something.
RESPONSES = {
    "400": "The body is not JSON (or YAML, where taken), or not of the shape the operation takes",
    "401": "No API key, or an unknown or revoked one",
    "404": "Nothing has this id",
    "413": "The request is larger than the operation takes (docs/runtime.md, Limits)",
    "422": "Every problem, each with its place",
}
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}


def declare_problems(document: dict[str, Any]) -> None:
    """Declare in an OpenAPI document the problems each operation answers (:data:`RESPONSES`),
    each a problem document, beside those its route declares."""
    for operations in document["paths"].values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            keyed = operation.get("security") != []  # [] where no API key is asked for
            codes = ["401"] if keyed else []
            if keyed or operation.get("parameters") or "requestBody" in operation:
                codes.append("422")
            if "requestBody" in operation:
                codes += ["400", "413"]
            if any(p.get("in") == "path" for p in operation.get("parameters", [])):
                codes.append("404")
            for code in codes:
                responses.setdefault(code, {})["description"] = RESPONSES[code]
            for code, response in responses.items():
                if code[0] in "45":
                    response["content"] = _PROBLEM
                    response.setdefault("description", HTTPStatus(int(code)).phrase)
    for name in ("HTTPValidationError", "ValidationError"):
        document["components"]["schemas"].pop(name, None)


class ApiProblem(HTTPException):
    """An error an endpoint answers with, as a problem document. An HTTPException, so that
    FastAPI lets it through when reading a body raises it."""

    def __init__(self, status: int, kind: str, detail: str,
                 errors: list[Problem] | None = None, headers: dict[str, str] | None = None):
        super().__init__(status, detail, headers)
        self.status, self.kind, self.detail = status, kind, detail
        self.errors, self.headers = errors, headers


def invalid(problems: list[Problem], what: str = "the request") -> ApiProblem:
    """422 listing every problem with its place."""
    count = len(problems)
    return ApiProblem(422, "invalid-input",
                      f"{what} has {count} problem{'s' if count != 1 else ''}", problems)


def too_large(limit: int, what: str = "the body") -> ApiProblem:
    """413 saying the limit."""
    return ApiProblem(413, "too-large", f"{what} is larger than this endpoint takes: at most "
                                        f"{limit} bytes (docs/runtime.md, Limits)")


def problem_response(status: int, kind: str | None, detail: str,
                     errors: list[Problem] | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"{_BASE}{kind}" if kind else "about:blank",
        "title": PROBLEM_TYPES.get(kind or "", HTTPStatus(status).phrase),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [{"place": p.place, "message": p.message} for p in errors]
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _place(loc: tuple[Any, ...]) -> str:
    place = ""
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        place = f"{place}[{part}]" if isinstance(part, int) else (
            f"{place}.{part}" if place else str(part))
    if loc and loc[0] == "query":
        place = f"?{place}"
    return place


def install_handlers(app: FastAPI) -> None:
    """Answer every error as a problem document."""

    @app.exception_handler(ApiProblem)
    async def _api(_: Request, error: ApiProblem) -> JSONResponse:
        return problem_response(error.status, error.kind, error.detail, error.errors,
                                dict(error.headers) if error.headers else None)

    @app.exception_handler(DefinitionError)
    async def _definition(_: Request, error: DefinitionError) -> JSONResponse:
        problem = invalid(error.problems)
        return problem_response(422, problem.kind, problem.detail, problem.errors)

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [Problem(_place(tuple(e.get("loc", ()))), str(e.get("msg", "invalid")))
                    for e in error.errors()]
        problem = invalid(problems)
        return problem_response(422, problem.kind, problem.detail, problem.errors)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, error: HTTPException) -> JSONResponse:
        kind = {404: "not-found", 401: "unauthorized"}.get(error.status_code)
        return problem_response(error.status_code, kind, str(error.detail),
                                headers=dict(error.headers or {}))

    @app.exception_handler(ItineraError)
    async def _itinera(_: Request, error: ItineraError) -> JSONResponse:
        return problem_response(409, "conflict", str(error))
