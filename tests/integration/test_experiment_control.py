"""An experiment's control arm, built as docs/semantics.md shows (it waits as long as the
treatment and joins the same path), stays enrolled and can reach the goal, simulated and live;
a variant without ``next`` — which would end the enrollment the instant it is drawn, so the
control could never convert — is refused with its place (issue 9)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from itinera.analytics.report import journey_report
from itinera.definitions.loader import load_scenario
from itinera.errors import DefinitionError

from .helpers import run, simulated_and_live

IDS = [f"a{i:02d}" for i in range(1, 9)]
SCENARIO = """
start: 2026-01-05T09:00:00Z
until: 10d
data:
  accounts:
{accounts}
  segments:
    - {{id: january, when: {{account.cohort: jan}}}}
  templates:
    - {{id: offer, subject: 20% off, text: "...", approved: true}}
journeys:
  - id: offer-test
    entry: {{segments: [january], existing: true}}
    goal: {{when: {{account.won: true}}, on_met: exit}}
    start: pick
    nodes:
      pick:
        experiment:
          name: offer
          variants:
            - {{name: control, weight: 1{control}}}
            - {{name: discount, weight: 1, next: send}}
      send: {{do: [{{send_email: {{template: offer}}}}], next: hold}}
      hold: {{wait: 7d, next: done}}
      done: {{end: true}}
timeline:
  - {{at: 0s, enable: offer-test}}
  - {{at: 2d, upsert_account: {{id: a01, attributes: {{cohort: jan, won: true}}}}}}
  - {{at: 2d, upsert_account: {{id: a02, attributes: {{cohort: jan, won: true}}}}}}
  - {{at: 2d, upsert_account: {{id: a03, attributes: {{cohort: jan, won: true}}}}}}
  - {{at: 2d, upsert_account: {{id: a04, attributes: {{cohort: jan, won: true}}}}}}
  - {{at: 2d, upsert_account: {{id: a05, attributes: {{cohort: jan, won: true}}}}}}
  - {{at: 2d, upsert_account: {{id: a06, attributes: {{cohort: jan, won: true}}}}}}
"""


def scenario(control: str) -> str:
    accounts = "\n".join(f"    - {{id: {i}, attributes: {{cohort: jan}}}}" for i in IDS)
    return SCENARIO.format(accounts=accounts, control=control)


def converted_by_variant(result: dict[str, Any]) -> dict[str, tuple[int, int]]:
    counts: dict[str, tuple[int, int]] = {}
    for e in result["enrollments"]:
        enrolled, converted = counts.get(e["variants"]["offer"], (0, 0))
        counts[e["variants"]["offer"]] = (enrolled + 1, converted + bool(e["goal_achieved"]))
    return counts


def check(result: dict[str, Any], database_url: str) -> None:
    # a01..a06 win at 2d, whichever arm they are in; a07 and a08 do not.
    won = {e["account"]: (e["goal_achieved"], e["status"]) for e in result["enrollments"]}
    assert won == {**{i: (True, "exited") for i in IDS[:6]},
                   **{i: (False, "completed") for i in IDS[6:]}}
    counts = converted_by_variant(result)
    assert counts["control"][1] >= 1 and counts["discount"][1] >= 1, counts
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            (experiment,) = journey_report(connection, "offer-test").experiments
    finally:
        engine.dispose()
    control = experiment.variants[0]
    assert (control.name, control.control) == ("control", True)
    assert (control.enrolled, control.converted) == counts["control"]


def test_a_control_arm_that_joins_the_path_converts_simulated(tmp_path: Path,
                                                              database_url: str) -> None:
    check(run(tmp_path, database_url, scenario(", next: hold")), database_url)


def test_a_control_arm_that_joins_the_path_converts_live(tmp_path: Path,
                                                         database_url: str) -> None:
    simulated, live = simulated_and_live(tmp_path, database_url, scenario(", next: hold"))
    check(live, database_url)
    assert live == simulated


def test_a_variant_without_next_is_refused_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "no-next.yaml"
    path.write_text(textwrap.dedent(scenario("")), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_scenario(path)
    (problem,) = caught.value.problems
    assert problem.place == "journeys[0].nodes.pick.experiment.variants[0].next"
    assert "variant 'control' has no 'next'" in str(problem)
