"""Personalization: render ``{{ account.name }}``-style templates in a sandbox.

The sandbox (``itinera.templating``) sees only the values given (account, person,
buying_group, csm, event), cannot call out, and bounds each render's work and every value it
makes; its output is capped. A template that breaks a limit is a :class:`RenderError`, which
the engine records as that action's failure — the worker goes on.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import TemplateError

from itinera.domain.model import CSM, Account, Person
from itinera.errors import ItineraError
from itinera.templating import MAX_SIZE, Sandbox

__all__ = ["MAX_OUTPUT", "RenderError", "Renderer", "account_context", "person_context"]

MAX_OUTPUT = MAX_SIZE

# ``{{ account.name }}``: a name and the keys it is followed by.
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}", re.ASCII)
# Names Jinja reads as constants or operators, not as values.
_JINJA_WORDS = frozenset({"true", "false", "none", "True", "False", "None", "and", "or", "not",
                          "in", "is", "if", "else"})
_ABSENT = object()
_Plan = tuple[str | tuple[str, ...], ...]


class RenderError(ItineraError):
    """A template that cannot be rendered (syntax, a refused operation, a limit of work or
    size)."""


def account_context(account: Account) -> dict[str, Any]:
    """Built-ins win over attributes of the same name, as in conditions."""
    return {**account.attributes, "attributes": account.attributes, "id": account.id,
            "csm": account.csm, "created_at": account.created_at,
            "playbooks": account.playbooks}


def person_context(person: Person) -> dict[str, Any]:
    return {**person.attributes, "attributes": person.attributes, "id": person.id,
            "email": person.email, "score": person.score, "unsubscribed": person.unsubscribed,
            "account": person.account}


def csm_context(csm: CSM | None) -> dict[str, Any] | None:
    return None if csm is None else {"id": csm.id, "name": csm.name, "email": csm.email}


class Renderer:
    """Compiles each distinct template text once."""

    def __init__(self, environment: Sandbox | None = None) -> None:
        self.environment = environment or Sandbox()
        self._cache: dict[str, Any] = {}
        self._plans: dict[str, _Plan | None] = {}
        # The environment's globals as one plain dict: a template context built from it is
        # "shared" (taken as is), where Template.generate would copy them out of a ChainMap
        # for every render — most of the cost of rendering a short subject line.
        self._globals = dict(self.environment.globals)

    def render(self, text: str, values: dict[str, Any]) -> str:
        if "{" not in text:
            return text
        try:
            plan = self._plans[text]
        except KeyError:
            plan = self._plans[text] = _plan(text)
        if plan is not None:
            try:
                filled = _fill(plan, values)
            except Exception:  # a value that cannot be written out: Jinja's answer, or error
                filled = None
            if filled is not None:
                return filled
        try:
            template = self._cache.get(text)
            if template is None:
                template = self._cache[text] = self.environment.from_string(text)
                # A context copies the names of its template's globals — a ChainMap, slow to
                # iterate — into a set at every render; the same names as one plain dict.
                template.globals = self._globals
            context = template.new_context({**self._globals, **values}, shared=True)
            return "".join(_capped(template.root_render_func(context)))
        except Exception as error:  # anything a template does wrong is the template's error
            raise RenderError(f"template {text[:60]!r}: {error}") from error

    def render_value(self, value: Any, values: dict[str, Any]) -> Any:
        """Render every string inside a JSON-like value."""
        if isinstance(value, str):
            return self.render(value, values)
        if isinstance(value, list):
            return [self.render_value(v, values) for v in value]
        if isinstance(value, dict):
            return {k: self.render_value(v, values) for k, v in value.items()}
        return value


def _plan(text: str) -> _Plan | None:
    """The parts of a text whose only template syntax is placeholders of values' keys
    (``Hi {{ account.name }}``, most subjects): literal text, and each placeholder's names.
    Filled by :func:`_fill` with what Jinja would render, at a fraction of a Jinja render's
    cost. None for any other text (Jinja renders it): other syntax, a key that is also a
    method of dict (Jinja would take the method), newlines Jinja would normalise or strip."""
    if "\r" in text or text.endswith("\n"):
        return None
    parts: list[str | tuple[str, ...]] = []
    at = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(text[at:match.start()])
        names = tuple(match.group(1).split("."))
        if names[0] in _JINJA_WORDS or any(hasattr(dict, name) for name in names[1:]):
            return None
        parts.append(names)
        at = match.end()
    parts.append(text[at:])
    if any(isinstance(p, str) and ("{" in p or "}" in p) for p in parts):
        return None
    return tuple(p for p in parts if p != "")


def _fill(plan: _Plan, values: dict[str, Any]) -> str | None:
    """The text of ``plan`` with ``values`` — ``str`` of each placeholder's value, nothing for
    a missing last key or a null, as the sandbox writes them; None where Jinja must
    decide (a name it would look up among its globals, a key of something not a dict, a key of
    a missing one, output beyond the cap)."""
    out: list[str] = []
    for part in plan:
        if isinstance(part, str):
            out.append(part)
            continue
        value = values.get(part[0], _ABSENT)
        if value is _ABSENT:
            return None
        for i in range(1, len(part)):
            if type(value) is not dict:
                return None
            value = value.get(part[i], _ABSENT)
            if value is _ABSENT:
                if i + 1 < len(part):
                    return None
                value = ""  # Jinja's Undefined renders as nothing
        out.append(value if type(value) is str else "" if value is None else str(value))
    text = "".join(out)
    return text if len(text) <= MAX_OUTPUT else None


def _capped(chunks: Any) -> Any:
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise TemplateError(f"template output exceeds {MAX_OUTPUT} characters")
        yield chunk
