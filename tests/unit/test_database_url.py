"""Database URLs: the forms hosting providers write are taken, other backends are refused with
what is supported."""

from __future__ import annotations

import pytest

from itinera.errors import StoreError
from itinera.storage.engine import database_url


@pytest.mark.parametrize(("given", "taken"), [
    ("postgres://u:pw@db.example.com:5432/app", "postgresql+psycopg://u:pw@db.example.com:5432/app"),
    ("postgresql://u@db/app", "postgresql+psycopg://u@db/app"),
    ("postgresql+psycopg://u@db/app?options=-csearch_path%3Dx",
     "postgresql+psycopg://u@db/app?options=-csearch_path%3Dx"),
    ("sqlite:///itinera.db", "sqlite:///itinera.db"),
    ("sqlite://", "sqlite://"),
])
def test_urls_taken(given: str, taken: str) -> None:
    assert database_url(given) == taken


@pytest.mark.parametrize(("given", "says"), [
    ("mysql://root@localhost/test", "runs on SQLite and PostgreSQL, not mysql"),
    ("itinera.db", "is not a database URL"),
])
def test_urls_refused(given: str, says: str) -> None:
    with pytest.raises(StoreError, match=says):
        database_url(given)
