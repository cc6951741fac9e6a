"""The store every contract test runs against: each backend (``database_url``), exclusive (a
lone worker's) and shared (several workers')."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from itinera.storage.sql import SqlStore


@pytest.fixture(params=[True, False], ids=["exclusive", "shared"])
def store(request: pytest.FixtureRequest, database_url: str) -> Iterator[SqlStore]:
    created = SqlStore(database_url, exclusive=request.param)
    yield created
    created.close()
