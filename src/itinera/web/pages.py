"""Rendering the UI's pages: the Jinja2 templates of ``web/templates`` with the filters they
use, and the context every page gets (who is signed in, the form token, the current section).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from itinera.web.auth import UiUser
from itinera.web.words import instant_words, value_words

__all__ = ["TEMPLATES_DIR", "make_templates", "render"]

TEMPLATES_DIR = Path(__file__).parent / "templates"


def _percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _short(value: Any, size: int = 28) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=TEMPLATES_DIR)
    filters = templates.env.filters
    filters["when"] = instant_words
    filters["percent"] = _percent
    filters["short"] = _short
    filters["words"] = value_words
    return templates


def render(request: Request, name: str, user: UiUser | None, status_code: int = 200,
           **context: Any) -> Response:
    """The page ``name`` with ``context``, for the signed-in ``user``."""
    templates: Jinja2Templates = request.app.state.itinera_ui
    return templates.TemplateResponse(request, name, {"user": user, **context},
                                      status_code=status_code)
