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

__all__ = ["AcceleratedClock", "DemoFeed", "demo_inputs", "example_scenario"]

EXAMPLE = "ajo-bodea-product-x.scenario.yaml"

_TITLES = ["CEO", "CFO", "Product SME", "Product Analyst", "Developer"]
_STATES = ["CA", "NY", "TX", "WA"]
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
        account = f"acct-{n:04d}"
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
        state = rng.choice(_STATES)
        inputs.append({"upsert_account": {"id": account, "csm": csm, "attributes": {
            "name": name, "size": size, "state": state, "interest": "Bodea-Product X"}}})
        # The CRM already knows the product SME and the analyst of the buying group, and in
        # California (as in the example scenario) its decision makers, whom the journey writes
        # to as such; in New York the journey adds the decision makers itself.
        if state == "CA":
            known += [(person, "Decision Maker") for person in leaders]
        inputs += [{"add_to_buying_group": {"account": account, "person": person,
                                            "solution": _SOLUTION, "role": role,
                                            "template": "enterprise"}}
                   for person, role in known]
    inputs += [{"enable": j.id} for j in loaded.journeys]
    return inputs


class DemoFeed:
    """Opens and clicks by the demo's people, at a plausible rate of virtual time. A third of
    the New York accounts (where the journey builds the buying group's decision makers) are in
    an active buying cycle and make most of the noise, so some buying groups pass the journey's
    engagement bar — and open a sales task — within a minute of the demo."""

    def __init__(self, service: Service, inputs: list[dict[str, Any]],
                 rng: random.Random) -> None:
        self.service, self.rng = service, rng
        self.people: dict[str, list[str]] = {}
        new_york: list[str] = []
        for entry in inputs:
            if "upsert_person" in entry:
                person = entry["upsert_person"]
                self.people.setdefault(person["account"], []).append(person["id"])
            elif "upsert_account" in entry and entry["upsert_account"]["attributes"].get(
                    "state") == "NY":
                new_york.append(entry["upsert_account"]["id"])
        self.accounts = sorted(self.people)
        self.hot = new_york[: max(1, len(new_york) // 3)] or self.accounts
        self.sent = 0

    def tick(self, events: int) -> None:
        batch = []
        for _ in range(events):
            pool = self.hot if self.rng.random() < 0.8 else self.accounts
            account = self.rng.choice(pool)
            kind = self.rng.choice(["email.opened", "email.opened", "email.clicked"])
            self.sent += 1
            batch.append({"event": {"id": f"demo-{self.sent}", "type": kind, "account": account,
                                    "person": self.rng.choice(self.people[account])}})
        self.service.submit(batch)
