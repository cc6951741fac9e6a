"""How every route reads its request: :class:`ApiRoute`, the route class of every API router.

- Size: each route's limit (:func:`limit`, shown in its OpenAPI operation as
  ``x-itinera-max-bytes``; else :data:`DEFAULT_BYTES`) bounds the bytes received, counted as
  they come; a gzip body (``Content-Encoding: gzip``, as Segment's SDKs send) is decompressed
  up to the same bound, so a small bomb is no large body. Over it: ``413`` saying the limit.
- JSON is parsed exactly (integers as written, so that one too large is found, not rounded);
  a body that is not JSON: ``400``. Routes that take YAML too (``Content-Type:
  application/yaml``) read it with :func:`document`, through the journey files' own parser.
- Values: every value of the body must be one the stores hold (``itinera.jsonvalues``:
  64-bit integers, text without NUL or lone surrogates, at most 64 levels deep), else ``422``
  naming each place. Segment's routes (:class:`MessageRoute`) check each message instead, as
  a bad message is kept aside and the rest applied.
- Parameters: path and query text must be storable too (``422``), as they reach SQL.

The limits are documented in docs/runtime.md ("Limits").
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Coroutine
from email.message import Message
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.routing import APIRoute

from itinera.api.problems import ApiProblem, invalid, too_large
from itinera.definitions.loader import parse_document
from itinera.errors import DefinitionError, Problem
from itinera.jsonvalues import text_problem, value_problems

__all__ = [
    "BULK_BYTES",
    "DEFAULT_BYTES",
    "YAML_TYPES",
    "ApiRoute",
    "MessageRoute",
    "document",
    "limit",
    "yaml_text",
]

DEFAULT_BYTES = 1024 * 1024  # any other body: a journey to publish, a task's new assignee
BULK_BYTES = 5 * 1024 * 1024  # a batch of the bulk API (and at most MAX_BATCH records)
_LIMIT = "x-itinera-max-bytes"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def limit(max_bytes: int, openapi_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``openapi_extra`` of a route whose bodies may have up to ``max_bytes``."""
    return {**(openapi_extra or {}), _LIMIT: max_bytes}


def _gunzip(raw: bytes, max_bytes: int) -> bytes:
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflate.decompress(raw, max_bytes + 1)
    except zlib.error as error:
        raise ApiProblem(400, "invalid-input", f"the body is not gzip: {error}") from None
    if len(out) > max_bytes:
        raise too_large(max_bytes, "the body, decompressed,")
    if not inflate.eof:
        raise ApiProblem(400, "invalid-input", "the body is not gzip: it ends too soon")
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(raw: bytes) -> Any:
    """The JSON value of ``raw``, integers exact; 400 when it is not JSON."""
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise ApiProblem(400, "invalid-input", "the body is not JSON we read: nested too "
                                               "deep") from None
    except ValueError as error:  # JSONDecodeError, bad UTF-8, too many digits, NaN
        raise ApiProblem(400, "invalid-input", f"the body is not JSON: {error}") from None


class _Request(Request):
    """A request whose body is decompressed within bounds, and whose JSON is checked."""

    check_values = True
    max_bytes = DEFAULT_BYTES

    async def body(self) -> bytes:
        if not hasattr(self, "_decoded"):
            declared = self.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise too_large(self.max_bytes)
            chunks, size = [], 0
            async for chunk in self.stream():  # counted as it comes: a body without a length
                size += len(chunk)
                if size > self.max_bytes:
                    raise too_large(self.max_bytes)
                chunks.append(chunk)
            raw = b"".join(chunks)
            if self.headers.get("content-encoding", "").lower() == "gzip":
                raw = _gunzip(raw, self.max_bytes)
            self._decoded = raw
        return self._decoded

    async def json(self) -> Any:
        if not hasattr(self, "_checked"):
            value = parse_json(await self.body())
            if self.check_values and (problems := value_problems(value)):
                raise invalid(problems)
            self._checked = value
        return self._checked


class ApiRoute(APIRoute):
    """Reads every request as the module says."""

    check_values: ClassVar[bool] = True

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        check_values = self.check_values
        max_bytes = (self.openapi_extra or {}).get(_LIMIT, DEFAULT_BYTES)

        async def read(request: Request) -> Response:
            problems = [Problem(name, f"a path parameter: {wrong}")
                        for name, value in request.path_params.items()
                        if isinstance(value, str) and (wrong := text_problem(value))]
            problems += [Problem(f"?{name}", wrong) for name, value in
                         request.query_params.multi_items()
                         if (wrong := text_problem(name) or text_problem(value))]
            if problems:
                raise invalid(problems)
            checked = _Request(request.scope, request.receive)
            checked.check_values, checked.max_bytes = check_values, max_bytes
            return await handler(checked)

        return read


class MessageRoute(ApiRoute):
    """Segment's routes: each message's values are checked on their own (a bad one is kept
    aside, the rest applied), not the body's as a whole."""

    check_values = False


def _media_type(request: Request) -> str:
    message = Message()
    message["content-type"] = request.headers.get("content-type", "")
    return message.get_content_type()


async def yaml_text(request: Request) -> str | None:
    """The body as written when it is YAML (``Content-Type: application/yaml``), else None:
    what a journey's version keeps as its source text."""
    if _media_type(request) not in YAML_TYPES:
        return None
    return (await request.body()).decode("utf-8", "replace")


async def document(request: Request) -> Any:
    """The body as JSON, or as YAML when its ``Content-Type`` says so (read as journey files
    are, by ``parse_document``), checked alike: the same problems at the same places."""
    if _media_type(request) not in YAML_TYPES:
        return await request.json()
    try:
        value = parse_document(await request.body(), "body", "yaml")
    except DefinitionError as error:
        raise ApiProblem(400, "invalid-input", "the body is not YAML we read",
                         error.problems) from None
    problems = value_problems(value)
    if problems:
        raise invalid(problems)
    return value
