"""The segment preview (``studio.segment_preview``) on SQLite and PostgreSQL: its count is the
number of accounts the reference evaluator accepts, its sample the first of them by id with
their names, whatever the condition's kind (attributes, people, performed, buying groups,
segments); and a query past its time limit is cancelled, not waited for."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from contract.test_condition_sql import (
    NOW,
    Database,
    World,
    account,
    db,
    python_ids,
    relations_world,
    store,
)
from itinera.conditions import parse_condition
from itinera.conditions.sql import install_sqlite_functions
from itinera.domain.model import Event
from itinera.storage.schema import metadata
from itinera.studio.segment_preview import PreviewTooSlow, preview

__all__ = ["db"]  # the fixture, shared with test_condition_sql

CONDITIONS = [
    {"account.tier": "gold"},
    {"account.size": {"gte": 500}},
    {"any": [{"account.tier": "silver"}, {"account.size": {"lt": 100}}]},
    {"not": {"account.name": {"exists": True}}},
    {"people": {"match": {"person.title": "CEO"}}},
    {"performed": {"event": "login", "within_last": "30d"}},
    {"buying_group": {"solution": "S1", "match": {"engagement_score": {"gte": 80}}}},
    {"in_segment": "new"},
    {"account.id": {"exists": True}},
    {"account.tier": "platinum"},
]


def _large_world(size: int = 300) -> World:
    """Accounts with names (some without), tiers and sizes, and logins of some."""
    rng = random.Random(12)
    world = World()
    for i in range(size):
        attributes = {"tier": rng.choice(["gold", "silver", "bronze"]), "size": rng.randrange(1000)}
        if i % 7:
            attributes["name"] = f"Account {i}"
        world.accounts.append(account(f"acc-{i:04}", attributes))
        if i % 3 == 0:
            world.events.append(Event(f"e{i}", "login", NOW - timedelta(days=rng.randrange(60)),
                                      account=f"acc-{i:04}"))
    return world


@pytest.mark.parametrize("limit", [0, 5, 50])
def test_the_count_and_sample_are_the_reference_accounts(db: Database, limit: int) -> None:
    for world in (relations_world(), _large_world()):
        store(db.connection, world)
        db.connection.commit()
        names = {a.id: a.attributes.get("name") for a in world.accounts}
        for raw in CONDITIONS:
            tree = parse_condition(raw)
            expected = sorted(python_ids(world, tree))
            found = preview(db.connection, tree, NOW, limit)
            db.connection.rollback()
            assert found.count == len(expected), raw
            assert found.sample == [{"id": a, "name": names[a]} for a in expected[:limit]], raw
            assert found.at == NOW


def test_a_preview_past_its_time_limit_is_cancelled(tmp_path: object) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/slow.db")
    metadata.create_all(engine)
    install_sqlite_functions(engine)
    with engine.connect() as connection:
        world = _large_world(5000)  # a count that takes more than a few thousand steps
        store(connection, world)
        connection.commit()
        tree = parse_condition({"performed": {"event": "login", "within_last": "30d"}})
        with pytest.raises(PreviewTooSlow):
            preview(connection, tree, NOW, time_limit=0)
        connection.rollback()
        # The handler is removed: the same connection answers again.
        assert preview(connection, tree, NOW).count == len(python_ids(world, tree))
    engine.dispose()
