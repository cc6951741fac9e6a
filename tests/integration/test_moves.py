"""Publishing a new version with moves (docs/reference/journeys.md, "Publishing a new version:
in-flight enrollments"): waits shortened (already past: due at the move), lengthened, renamed
by the map, a wait_for's timeout lengthened, a node kept on the old version by the map and a
removed node flagged — the same simulated and live, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from itinera.definitions.models import Journey
from itinera.engine.moves import apply_moves, plan_moves

from .helpers import T, by, enrollment, enrollments, run, simulated_and_live

V1 = """
    id: nurture
    entry: {segments: [members]}
    start: route
    nodes:
      route:
        split:
          - {when: {account.track: fast}, next: ask}
          - {when: {account.track: legacy}, next: legacy}
          - {when: {account.track: hold}, next: hold}
          - {when: {account.track: later}, next: later}
          - else: first
      first: {wait: 10d, next: done}
      ask:
        wait_for: {events: [replied], scope: account, timeout: 5d}
        next: thanks
        on_timeout: gave-up
      legacy: {wait: 20d, next: done}
      hold: {wait: 4d, next: done}
      later: {wait: 5d, next: done}
      thanks: {end: true}
      gave-up: {end: true}
      done: {end: true}
"""

V2 = """
    id: nurture
    entry: {segments: [members]}
    start: route
    nodes:
      route:
        split:
          - {when: {account.track: fast}, next: ask}
          - {when: {account.track: later}, next: later2}
          - {when: {account.track: hold}, next: hold}
          - else: first
      first: {wait: 2d, next: done}
      ask:
        wait_for: {events: [replied], scope: account, timeout: 10d}
        next: thanks
        on_timeout: gave-up
      hold: {wait: 1d, next: done}
      later2: {wait: 8d, next: done}
      thanks: {end: true}
      gave-up: {end: true}
      done: {end: true}
"""


def _indent(text: str, by: int) -> str:
    return "\n".join(" " * by + line[4:] if line.strip() else line
                     for line in text.strip("\n").splitlines())


def scenario(moves: str) -> str:
    return f"""
start: 2026-01-05T09:00:00Z
until: 30d
data:
  segments:
    - {{id: members, when: {{account.member: true}}}}
journeys:
  - {_indent(V1, 4).lstrip()}
timeline:
  - {{at: 0s, enable: nurture}}
  - {{at: 0s, upsert_account: {{id: a1, attributes: {{member: true}}}}}}
  - {{at: 0s, upsert_account: {{id: a2, attributes: {{member: true, track: fast}}}}}}
  - {{at: 0s, upsert_account: {{id: a3, attributes: {{member: true, track: legacy}}}}}}
  - {{at: 0s, upsert_account: {{id: a4, attributes: {{member: true, track: hold}}}}}}
  - {{at: 0s, upsert_account: {{id: a5, attributes: {{member: true, track: later}}}}}}
  - {{at: 2d, upsert_account: {{id: a6, attributes: {{member: true}}}}}}
  - at: 3d
{moves}
    publish:
      {_indent(V2, 6).lstrip()}
  - {{at: 7d, event: {{type: replied, account: a2}}}}
"""


MOVES = """    moves: {first: first, ask: ask, later: later2, hold: null}"""


def _ends(result: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {e["account"]: (e["version"], e["status"], e["ended_at"], e["path"])
            for e in enrollments(result, "nurture")}


EXPECTED = {
    # Entered first at 0s; the new 2d wait was over at 2d: due at the move instant.
    "a1": (2, "completed", T("3d"), ["route", "first", "done"]),
    # Listening since 0s: the timeout, now 10d, has not passed at 7d when the reply comes.
    "a2": (2, "completed", T("7d"), ["route", "ask", "thanks"]),
    # Its node was removed: flagged, it stays on version 1 and waits its 20 days there.
    "a3": (1, "completed", T("20d"), ["route", "legacy", "done"]),
    # Kept by the map (hold: null): version 1's 4d, not version 2's 1d.
    "a4": (1, "completed", T("4d"), ["route", "hold", "done"]),
    # Moved to another id by the map, the wait lengthened to 8d from its entry at 0s.
    "a5": (2, "completed", T("8d"), ["route", "later", "later2", "done"]),
    # Entered first at 2d: due 2d later, at 4d, not at the move.
    "a6": (2, "completed", T("4d"), ["route", "first", "done"]),
}


def test_a_publish_with_moves_recomputes_waits_simulated_and_live(
        tmp_path: Path, database_url: str) -> None:
    simulated, live = simulated_and_live(tmp_path, database_url, scenario(MOVES))
    assert _ends(simulated) == EXPECTED
    assert live == simulated


def test_without_moves_every_enrollment_stays_on_its_version(tmp_path: Path,
                                                             database_url: str) -> None:
    result = run(tmp_path, database_url, scenario(""))
    assert {a: v[:3] for a, v in _ends(result).items()} == {
        "a1": (1, "completed", T("10d")), "a2": (1, "completed", T("5d")),
        "a3": (1, "completed", T("20d")), "a4": (1, "completed", T("4d")),
        "a5": (1, "completed", T("5d")), "a6": (1, "completed", T("12d"))}
    assert enrollment(result, "nurture", "a2")["path"] == ["route", "ask", "gave-up"]


def test_move_matching_maps_nodes_of_the_same_id(tmp_path: Path, database_url: str) -> None:
    result = run(tmp_path, database_url, scenario("    move_matching: true"))
    ends = _ends(result)
    # first, ask and hold match by id; later (renamed) and legacy (removed) stay.
    assert by([{"a": a, "v": v[0]} for a, v in sorted(ends.items())], "a", "v") == [
        ("a1", 2), ("a2", 2), ("a3", 1), ("a4", 2), ("a5", 1), ("a6", 2)]
    assert ends["a4"][2] == T("3d")  # hold's new 1d was over: due at the move


def test_the_plan_flags_what_does_not_move() -> None:
    import yaml

    old = Journey.model_validate(yaml.safe_load(V1.replace("\n    ", "\n")))
    new = Journey.model_validate(yaml.safe_load(V2.replace("\n    ", "\n")))
    plan = plan_moves(old, new, {"hold": None, "route": "first", "later": "thanks"}, True)
    assert plan.mapped == {"first": "first", "ask": "ask"}
    assert plan.flagged == {
        "hold": "kept on the old version", "legacy": "removed in the new version",
        "later": "a path at the wait node 'later' cannot move to the end node 'thanks' (it "
                 "moves to a wait, wait_until or wait_for)"}
    assert [p for p, _ in plan.problems] == ["moves.route", "moves.later"]


def test_a_move_replayed_moves_nothing_twice(tmp_path: Path, database_url: str) -> None:
    from itinera.definitions.loader import load_scenario
    from itinera.simulate.runner import simulate
    from itinera.timeutil import parse_instant

    path = tmp_path / "s.yaml"
    path.write_text(scenario(MOVES).replace("until: 30d", "until: 3d"), encoding="utf-8")
    simulation = simulate(load_scenario(path), database_url=database_url)
    try:
        engine = simulation.engine
        old = engine.workspace.versions[("nurture", 1)].definition
        new = engine.workspace.versions[("nurture", 2)].definition
        plan = plan_moves(old, new, {"first": "first", "ask": "ask", "later": "later2"}, False)
        moved = engine._step(parse_instant(T("3d")),
                             lambda step: apply_moves(engine, step, "nurture", 1, 2, plan))
        assert moved == 0
        with simulation.store.transaction():
            versions = sorted((e.account, e.version) for e in simulation.store.enrollments())
        assert versions == [("a1", 2), ("a2", 2), ("a3", 1), ("a4", 1), ("a5", 2), ("a6", 2)]
    finally:
        simulation.store.close()


MORE = """
start: 2026-01-05T09:00:00Z
until: 40d
data:
  accounts:
    - {id: acme, attributes: {ready: true}}
  people:
    - {id: p1, account: acme, attributes: {title: CEO}}
    - {id: p2, account: acme, attributes: {title: Developer}}
  segments:
    - {id: everyone, when: {account.id: {exists: true}}}
journeys:
  - id: fork
    entry: {segments: [everyone], existing: true}
    start: split
    nodes:
      split:
        split_people:
          - {when: {person.title: {starts_with: C}}, next: together}
          - else: others
      others: {wait: 3d, next: together}
      together: {merge: {}, next: fin}
      fin: {end: true}
  - id: until
    entry: {segments: [everyone], existing: true}
    start: hold
    nodes:
      hold: {wait: 30d, next: fin}
      fin: {end: true}
  - id: cond
    entry: {segments: [everyone], existing: true}
    start: ask
    nodes:
      ask:
        wait_for: {events: [replied], timeout: 10d}
        next: yes
        on_timeout: no
      yes: {end: true}
      no: {end: true}
timeline:
  - {at: 0s, enable: fork}
  - {at: 0s, enable: until}
  - {at: 0s, enable: cond}
  - at: 1d
    move_matching: true
    publish:
      id: fork
      entry: {segments: [everyone], existing: true}
      start: split
      nodes:
        split:
          split_people:
            - {when: {person.title: {starts_with: C}}, next: together}
            - else: others
        others: {wait: 1d, next: together}
        together: {merge: {}, next: fin}
        fin: {end: true}
  - at: 2d
    move_matching: true
    publish:
      id: until
      entry: {segments: [everyone], existing: true}
      start: hold
      nodes:
        hold: {wait_until: {at: "2026-01-10T09:00:00Z"}, next: fin}
        fin: {end: true}
  - at: 3d
    moves: {ask: ask}
    publish:
      id: cond
      entry: {segments: [everyone], existing: true}
      goal: {when: {account.ready: true}, on_met: continue}
      start: ask
      nodes:
        ask:
          wait_for: {condition: {account.ready: true}, timeout: 10d}
          next: yes
          on_timeout: no
        yes: {end: true}
        no: {end: true}
"""


def test_merges_wait_until_conditions_and_goals_after_a_move(tmp_path: Path,
                                                             database_url: str) -> None:
    simulated, live = simulated_and_live(tmp_path, database_url, MORE)
    ends = {e["journey"]: (e["version"], e["status"], e["ended_at"], e["path"],
                           e["goal_achieved"]) for e in simulated["enrollments"]}
    assert ends == {
        # The executive's path waits at the merge, the other's wait is now 1d from 0s: both
        # move, the wait is over at the move, the merge joins and the journey goes on.
        "fork": (2, "completed", T("1d"), ["split", "others", "together", "fin"], False),
        # A wait moved to a wait_until: due at its instant (5 days in), not 30 days.
        "until": (2, "completed", T("5d"), ["hold", "fin"], False),
        # The new wait_for's condition already holds at the move, and so does the new goal.
        "cond": (2, "completed", T("3d"), ["ask", "yes"], True),
    }
    assert live == simulated
