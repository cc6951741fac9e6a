"""Every package's ``__all__`` is curated: each name exists, is public, and nothing public that
a package imports for its users is left out."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import itinera

MODULES = sorted(m.name for m in pkgutil.walk_packages(itinera.__path__, "itinera."))


@pytest.mark.parametrize("name", ["itinera", *MODULES])
def test_all_is_declared_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert sorted(exported) == sorted(set(exported)), f"{name}.__all__ has duplicates"
    for item in exported:
        assert hasattr(module, item), f"{name}.__all__ names {item!r}, which it lacks"
    assert module.__doc__, f"{name} has no module docstring"


@pytest.mark.parametrize("name", ["itinera", *[m for m in MODULES if m.count(".") == 1]])
def test_packages_export_what_they_import_for_users(name: str) -> None:
    module = importlib.import_module(name)
    if not hasattr(module, "__path__"):
        return
    public = {k for k, v in vars(module).items()
              if not k.startswith("_") and getattr(v, "__module__", "").startswith("itinera")
              and not isinstance(v, type(module))}
    assert public <= set(module.__all__), f"{name} imports {public - set(module.__all__)}"


def test_errors_form_one_tree() -> None:
    from itinera.engine import EngineError
    from itinera.engine.render import RenderError

    for error in (itinera.DefinitionError, itinera.StoreError, EngineError, RenderError):
        assert issubclass(error, itinera.ItineraError)
