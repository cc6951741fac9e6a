"""The world the UI tests look at: the demo's workspace, journey and made-up accounts, on a
manual clock, with journeys visibly progressing — New York decision makers clicking until
their buying groups are engaged (which opens sales tasks), everyone else opening and clicking
now and then.

Everything goes through ``Service.submit`` and ``Service.work``, as the API's inputs do.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from itinera.runtime import ManualClock, Service
from itinera.runtime.demo import demo_inputs, example_scenario
from itinera.storage import keys
from itinera.storage import schema as t

__all__ = ["START", "TRIAL", "World", "open_world"]

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# A second journey, with an experiment: trials see subject line A or B; the goal is a
# conversion flag on the account.
TRIAL: dict[str, Any] = {
    "id": "trial-test", "name": "Trial subject lines", "entry": {"event": {"type": "trial.started"}},
    "goal": {"when": {"account.converted": True}}, "start": "pick",
    "nodes": {
        "pick": {"experiment": {"name": "subject", "variants": [
            {"name": "A", "weight": 1, "next": "hold"}, {"name": "B", "weight": 1, "next": "hold"}]}},
        "hold": {"wait": "7d", "next": "fin"},
        "fin": {"end": True},
    },
}


@dataclass
class World:
    service: Service
    clock: ManualClock
    key: str
    accounts: int
    sent: int = 0

    def apply(self) -> None:
        while self.service.work():
            pass

    def accounts_in(self, state: str) -> list[str]:
        """The large accounts of ``state`` (those the journey enrolls), in the order made."""
        with self.service.intake.engine.connect() as connection:
            rows = connection.execute(sa.select(t.accounts.c.id, t.accounts.c.attributes)
                                      .order_by(t.accounts.c.seq))
            return [r.id for r in rows
                    if r.attributes.get("state") == state and r.attributes.get("size") == "Large"]

    def people_of(self, account: str) -> list[str]:
        with self.service.intake.engine.connect() as connection:
            return list(connection.execute(sa.select(t.people.c.id).where(
                t.people.c.account == account).order_by(t.people.c.seq)).scalars())

    def engaging(self, count: int) -> list[str]:
        """The first ``count`` New York accounts with a product SME and an analyst: the
        journey makes their C-level people decision makers; adding the other two roles lets
        the group's engagement pass 80 once all of them click."""
        found = []
        for account in self.accounts_in("NY"):
            people = self.people_of(account)
            if {f"{account}-2", f"{account}-3"} <= set(people):
                found.append(account)
        return found[:count]

    def event(self, kind: str, person: str) -> dict[str, object]:
        self.sent += 1
        return {"event": {"id": f"ui-{self.sent}", "type": kind, "person": person,
                          "account": person.rsplit("-", 1)[0]}}

    def day(self, clicks: list[str], opens: list[str]) -> None:
        """Half a day later, these people click and open; then the worker applies it all."""
        self.clock.advance(timedelta(hours=12))
        batch = [self.event("email.clicked", p) for p in clicks]
        batch += [self.event("email.opened", p) for p in opens]
        if batch:
            self.service.submit(batch)
        self.apply()

    def run_trial(self) -> None:
        """Every account starts a trial; an hour later every third one converts."""
        accounts = [f"acct-{n:04d}" for n in range(self.accounts)]
        self.service.submit([{"publish": TRIAL}, {"enable": "trial-test"}])
        self.service.submit([{"event": {"id": f"trial-{a}", "type": "trial.started", "account": a}}
                             for a in accounts])
        self.apply()
        self.clock.advance(timedelta(hours=1))
        self.service.submit([{"upsert_account": {"id": a, "attributes": {"converted": True}}}
                             for a in accounts[::3]])
        self.apply()

    def progress(self, days: int, engaged: int = 3, seed: int = 7) -> None:
        """``days`` days: everyone at ``engaged`` New York accounts clicks on the second day
        (their groups pass the engagement threshold, the journey opens a sales task for each);
        random people open emails."""
        rng = random.Random(seed)
        accounts = self.engaging(engaged)
        self.service.submit([
            {"add_to_buying_group": {"account": a, "person": f"{a}-{i}", "solution": "Bodea-Product X",
                                     "role": role, "template": "enterprise"}}
            for a in accounts for i, role in ((2, "Product SME"), (3, "Product Analyst"))])
        clickers = [p for a in accounts for p in self.people_of(a)]
        for day in range(days * 2):
            opens = [f"acct-{rng.randrange(self.accounts):04d}-0" for _ in range(4)]
            self.day(clickers if day in (2, 3) else [], opens)


@contextmanager
def open_world(database_url: str, accounts: int = 40) -> Iterator[World]:
    """A service over ``database_url`` with the demo world applied at ``START``."""
    clock = ManualClock(START)
    service = Service(database_url, clock, sandbox=True)
    try:
        service.submit(demo_inputs(example_scenario(), accounts, random.Random(2026)))
        with service.intake.engine.begin() as connection:
            _, key = keys.create_api_key(connection, "ui-tests", START)
        world = World(service, clock, key, accounts)
        world.apply()
        yield world
    finally:
        service.close()
