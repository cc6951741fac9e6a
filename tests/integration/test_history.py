"""The decision trace: each enrollment's history names every node visit, decision and value."""

from __future__ import annotations

from pathlib import Path

from itinera.definitions.loader import load_scenario
from itinera.simulate.runner import simulate

SCENARIO = """
start: 2026-01-05T09:00:00Z
until: 5d
data:
  accounts:
    - {id: acme, attributes: {name: Acme, size: Large, state: CA}}
  people:
    - {id: p1, account: acme, email: p1@acme.test, attributes: {title: CEO}}
    - {id: p2, account: acme, email: p2@acme.test, attributes: {title: Dev}}
  segments:
    - {id: large, when: {account.size: Large}}
  templates:
    - {id: hi, subject: Hi}
journeys:
  - id: j
    entry: {segments: [large], existing: true}
    goal: {when: {account.done: true}, on_met: exit}
    start: by-state
    nodes:
      by-state:
        split:
          - {when: {account.state: NY}, next: ny}
          - {else: who}
      ny: {end: true}
      who:
        split_people:
          - {when: {person.title: CEO}, next: mail}
          - {else: m}
      mail: {do: [{send_email: {template: hi}}], next: m}
      m: {merge: {}, next: pause}
      pause: {wait: 1d, next: finish}
      finish: {do: [{set: {account.done: true}}]}
timeline:
  - {at: 0s, enable: j}
"""


def test_history_records_each_decision_with_its_values(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    simulation = simulate(load_scenario(path), database_url=database_url, record_history=True)
    try:
        with simulation.store.transaction():
            history = simulation.store.history(1)
    finally:
        simulation.store.close()
    entries = [(h["node"], h.get("event") or h.get("decision")) for h in history]
    assert entries == [
        (None, "enrolled"), ("by-state", "split"), ("who", "split_people"),
        ("mail", "actions"), ("m", "merge"), ("pause", "resumed"), ("finish", "actions"),
        (None, "goal_achieved"), (None, "ended")]
    split = history[1]
    assert (split["branch"], split["next"]) == ("else", "who")
    assert split["values"] == {"account.state": "CA"}  # what the NY branch read
    people = history[2]
    assert people["branches"] == [{"next": "mail", "people": ["p1"]},
                                  {"next": "m", "people": ["p2"]}]
    assert people["values"] == {"p1": {"person.title": "CEO"}, "p2": {"person.title": "Dev"}}
    goal = history[7]
    assert goal["when"] == {"account.done": True} and goal["values"] == {"account.done": True}
    assert history[4]["people"] == ["p1", "p2"]
    assert history[5]["why"] == "wait over" and history[5]["at"].day == 6
    assert history[-1]["reason"] == "goal"


def test_simulations_skip_the_trace_by_default(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    simulation = simulate(load_scenario(path))
    try:
        with simulation.store.transaction():
            assert simulation.store.history(1) == []
    finally:
        simulation.store.close()
