"""Personalization: render ``{{ account.name }}``-style templates in a sandbox.

The sandbox sees only the values given (account, person, buying_group, csm, event), cannot call
out, and its output is capped; ``*`` and ``**`` on large operands are refused so a template
cannot make a huge string or number.
"""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from itinera.domain.model import CSM, Account, Person
from itinera.errors import ItineraError

__all__ = ["MAX_OUTPUT", "RenderError", "Renderer", "account_context", "person_context"]

MAX_OUTPUT = 100_000
_MAX_OPERAND = 10_000


class RenderError(ItineraError):
    """A template that cannot be rendered (syntax, a refused operation, output too large)."""


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator in ("*", "**") and any(
            isinstance(v, int | float) and not isinstance(v, bool) and abs(v) > _MAX_OPERAND
            for v in (left, right)
        ):
            raise TemplateError(f"operands of {operator} are too large for a template")
        if operator == "*" and any(isinstance(v, str | list) for v in (left, right)):
            raise TemplateError("repeating text with * is not allowed in templates")
        return super().call_binop(context, operator, left, right)


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

    def __init__(self) -> None:
        self.environment = _Environment(undefined=Undefined, autoescape=False)
        self._cache: dict[str, Any] = {}
        # The environment's globals as one plain dict: a template context built from it is
        # "shared" (taken as is), where Template.generate would copy them out of a ChainMap
        # for every render — most of the cost of rendering a short subject line.
        self._globals = dict(self.environment.globals)

    def render(self, text: str, values: dict[str, Any]) -> str:
        if "{" not in text:
            return text
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


def _capped(chunks: Any) -> Any:
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise TemplateError(f"template output exceeds {MAX_OUTPUT} characters")
        yield chunk
