"""The demo world: the example workspace and journey, a few hundred plausible accounts and
people, and a stream of plausible events on an accelerated clock."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from itinera.definitions.loader import load_scenario
from itinera.runtime.service import Service

__all__ = ["AcceleratedClock", "DemoFeed", "account_inputs", "demo_inputs", "example_scenario"]

EXAMPLE = "ajo-bodea-product-x.scenario.yaml"

_TITLES = ["CEO", "CFO", "Product SME", "Product Analyst", "Developer"]
_STATES = ["CA", "NY", "TX", "WA"]
_STATE_WEIGHTS = [45, 40, 8, 7]
_NAMES = ["Sunrise", "Pacific", "Hudson", "Lone Star", "Evergreen", "Summit", "Harbor", "Mesa",
          "Aurora", "Cedar", "Granite", "Beacon"]
_SOLUTION = "Bodea-Product X"
_CRM_ROLES = ("Product SME", "Product Analyst")  # titles that are also the role's name
_KINDS = ["Foods", "Tools", "Bank", "Health", "Logistics", "Labs", "Energy", "Media"]


class AcceleratedClock:
    """Virtual time running ``speed`` times faster than the wall clock, from ``start``."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start, self.speed = start, speed
        self._began = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._began) * self.speed)


def example_scenario(name: str = EXAMPLE) -> Path:
    """An example scenario: in an installed wheel, the copy of ``examples/`` it ships as
    ``itinera/examples``; in a source checkout (an editable install), ``examples/`` itself."""
    shipped = Path(str(resources.files("itinera"))) / "examples" / name
    if shipped.is_file():
        return shipped
    return Path(__file__).resolve().parents[3] / "examples" / name


def demo_inputs(example: Path, accounts: int, rng: random.Random) -> list[dict[str, Any]]:
    """Workspace, journey and world of the demo, as service inputs."""
    loaded = load_scenario(example)
    data = loaded.scenario.data
    workspace = data.model_dump(mode="json", exclude={"accounts", "people", "buying_groups"})
    inputs: list[dict[str, Any]] = [{"configure": workspace}]
    inputs += [{"publish": j.model_dump(mode="json", by_alias=True, exclude_none=True)}
               for j in loaded.journeys]
    for n in range(accounts):
        inputs += account_inputs(n, rng)
    inputs += [{"enable": j.id} for j in loaded.journeys]
    return inputs


def account_inputs(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """One made-up account ``acct-NNNN`` with its people and the buying-group members the CRM
    knows, as service inputs. Most accounts are in California or New York, the states the
    journey has a track for; the others complete at its first split."""
    account = f"acct-{n:04d}"
    inputs: list[dict[str, Any]] = []
    known: list[tuple[str, str]] = []  # (person, the buying-group role the CRM knows)
    leaders: list[str] = []
    for i, title in enumerate(_TITLES):
        if i and rng.random() < 0.25:
            continue
        inputs.append({"upsert_person": {
            "id": f"{account}-{i}", "account": account, "email": f"p{i}@{account}.test",
            "attributes": {"title": title, "first_name": rng.choice(
                ["Maya", "Leo", "Ada", "Raj", "Ines", "Omar", "Zoe", "Kim", "Sam"])}}})
        if title in _CRM_ROLES:
            known.append((f"{account}-{i}", title))
        elif title.startswith("C"):
            leaders.append(f"{account}-{i}")
    name = f"{rng.choice(_NAMES)} {rng.choice(_KINDS)}"
    csm = rng.choice(["ann", "bob"])
    size = "Large" if rng.random() < 0.8 else "Small"
    state = rng.choices(_STATES, _STATE_WEIGHTS)[0]
    inputs.append({"upsert_account": {"id": account, "csm": csm, "attributes": {
        "name": name, "size": size, "state": state}}})
    # The CRM already knows the product SME and the analyst of the buying group, and in
    # California (as in the example scenario) its decision makers, whom the journey writes
    # to as such; in New York the journey adds the decision makers itself.
    if state == "CA":
        known += [(person, "Decision Maker") for person in leaders]
    inputs += [{"add_to_buying_group": {"account": account, "person": person,
                                        "solution": _SOLUTION, "role": role,
                                        "template": "enterprise"}}
               for person, role in known]
    # The interest last: an account arriving while the journey runs enters its segment (and
    # the journey) with its buying group complete, as the accounts loaded at the start do.
    inputs.append({"upsert_account": {"id": account, "attributes": {"interest": _SOLUTION}}})
    return inputs


class DemoFeed:
    """What keeps the demo's story going: new accounts arriving now and then (each enters the
    journey as it joins the segment), and opens and clicks by the demo's people. Half the
    California and New York accounts are in an active buying cycle and make most of the noise,
    so their buying groups pass the journey's engagement bar — and open a sales task — while
    quiet ones wait out the two weeks and get the nudge (``tests/acceptance/test_demo.py``
    checks the shares)."""

    def __init__(self, service: Service, inputs: list[dict[str, Any]],
                 rng: random.Random) -> None:
        self.service, self.rng = service, rng
        self.people: dict[str, list[str]] = {}
        self.accounts: list[str] = []
        self.hot: list[str] = []
        self.clicked: set[str] = set()
        self.sent = self.arrived = 0
        self._learn(inputs)
        self.next_account = len(self.accounts)

    def _learn(self, inputs: list[dict[str, Any]]) -> None:
        for entry in inputs:
            if "upsert_person" in entry:
                person = entry["upsert_person"]
                self.people.setdefault(person["account"], []).append(person["id"])
            elif "upsert_account" in entry and "state" in entry["upsert_account"]["attributes"]:
                account = entry["upsert_account"]
                self.accounts.append(account["id"])
                if account["attributes"].get("state") in ("CA", "NY") and self.rng.random() < 0.5:
                    self.hot.append(account["id"])

    def tick(self, events: int | None = None, arrivals: int | None = None) -> None:
        """Submit ``arrivals`` new accounts (by default 0 to 2) and ``events`` opens and clicks
        (by default about one for every 3 to 8 accounts)."""
        if events is None:
            events = self.rng.randrange(max(5, len(self.accounts) // 8),
                                        max(10, len(self.accounts) // 3))
        if arrivals is None:
            arrivals = (self.rng.random() < 0.6) + (self.rng.random() < 0.2)
        batch: list[dict[str, Any]] = []
        for _ in range(arrivals):
            new = account_inputs(self.next_account, self.rng)
            self.next_account += 1
            self.arrived += 1
            self._learn(new)
            batch += new
        for _ in range(events):
            hot = bool(self.hot) and self.rng.random() < 0.8
            account = self.rng.choice(self.hot if hot else self.accounts)
            if not self.people.get(account):
                continue
            # In a buying cycle the whole group gets involved (those who have not clicked yet
            # are the ones who act) and clicks half the time; elsewhere people mostly just open.
            people = self.people[account]
            if hot:
                people = [p for p in people if p not in self.clicked] or people
            person = self.rng.choice(people)
            kind = "email.clicked" if self.rng.random() < (0.5 if hot else 0.1) else "email.opened"
            if kind == "email.clicked":
                self.clicked.add(person)
            self.sent += 1
            batch.append({"event": {"id": f"demo-{self.sent}", "type": kind, "account": account,
                                    "person": person}})
        self.service.submit(batch)
