"""A ``wait_for`` hears only what happens after its path began listening (docs/semantics.md),
even at the same instant: not the path's own ``change_score`` (or the segment entry its own
``set`` causes) just before the wait, but a later change — another journey's, later in the
same step or later in time, or a scoring rule's — simulated and live alike (issue 9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .helpers import run, simulated_and_live

# At 1h every account sends `go`. `early` (enabled first) changes the score before `own`
# starts listening; `own` changes it itself, then listens; `late` (enabled after `own`, only
# for same-step) changes it after `own` listens, in the same step. Later: a click scored by a
# rule (clicked, 2d), another journey's change_score (poked, 3d). `setter` sets a flag that
# puts the account in a segment, then listens for segment entries; tier-up enters `gold` at 2d.
SCENARIO = """
start: 2026-01-05T09:00:00Z
until: 20d
data:
  scoring: {email.clicked: 10}
  accounts:
    - {id: quiet}
    - {id: clicked}
    - {id: poked}
    - {id: same-step}
    - {id: flagged}
    - {id: tier-up}
  people:
    - {id: p1, account: quiet, email: p1@x.test}
    - {id: p2, account: clicked, email: p2@x.test}
    - {id: p3, account: poked, email: p3@x.test}
    - {id: p4, account: same-step, email: p4@x.test}
  segments:
    - {id: flagged, when: {account.flag: true}}
    - {id: gold, when: {account.tier: gold}}
journeys:
  - id: early
    entry: {event: {type: go}}
    start: bump
    nodes:
      bump: {do: [{change_score: {by: 1}}]}
  - id: own
    entry: {event: {type: go}}
    start: bump
    nodes:
      bump: {do: [{change_score: {by: 5}}], next: listen}
      listen:
        wait_for: {events: [person.score_changed], scope: account, timeout: 10d}
        next: heard
        on_timeout: timed-out
      heard: {end: true}
      timed-out: {end: true}
  - id: late
    entry: {event: {type: go, where: {properties.late: true}}}
    start: bump
    nodes:
      bump: {do: [{change_score: {by: 2}}]}
  - id: other
    entry: {event: {type: poke}}
    start: bump
    nodes:
      bump: {do: [{change_score: {by: 3}}]}
  - id: setter
    entry: {event: {type: flag}}
    start: set
    nodes:
      set: {do: [{set: {account.flag: true}}], next: listen}
      listen:
        wait_for: {events: [segment.entered], scope: account, timeout: 10d}
        next: heard
        on_timeout: timed-out
      heard: {end: true}
      timed-out: {end: true}
timeline:
  - {at: 0s, enable: early}
  - {at: 0s, enable: own}
  - {at: 0s, enable: late}
  - {at: 0s, enable: other}
  - {at: 0s, enable: setter}
  - {at: 1h, event: {type: go, account: quiet}}
  - {at: 1h, event: {type: go, account: clicked}}
  - {at: 1h, event: {type: go, account: poked}}
  - {at: 1h, event: {type: go, account: same-step, properties: {late: true}}}
  - {at: 1h, event: {type: flag, account: flagged}}
  - {at: 1h, event: {type: flag, account: tier-up}}
  - {at: 2d, event: {type: email.clicked, person: p2}}
  - {at: 2d, upsert_account: {id: tier-up, attributes: {tier: gold}}}
  - {at: 3d, event: {type: poke, account: poked}}
"""


def outcomes(result: dict[str, Any], journey: str) -> dict[str, tuple[str, str]]:
    return {e["account"]: (e["path"][-1], e["ended_at"]) for e in result["enrollments"]
            if e["journey"] == journey}


def check(result: dict[str, Any]) -> None:
    assert outcomes(result, "own") == {
        "quiet": ("timed-out", "2026-01-15T10:00:00Z"),  # early's and its own change: unheard
        "clicked": ("heard", "2026-01-07T09:00:00Z"),  # the scoring rule's change
        "poked": ("heard", "2026-01-08T09:00:00Z"),  # another journey's change, later
        "same-step": ("heard", "2026-01-05T10:00:00Z"),  # late's, after own began listening
    }
    assert outcomes(result, "setter") == {
        "flagged": ("timed-out", "2026-01-15T10:00:00Z"),  # the entry its own set caused
        "tier-up": ("heard", "2026-01-07T09:00:00Z"),
    }
    assert result["people"]["p1"]["score"] == 6  # both changes did happen


def test_a_wait_for_does_not_hear_its_own_change_simulated(tmp_path: Path,
                                                           database_url: str) -> None:
    check(run(tmp_path, database_url, SCENARIO))


def test_a_wait_for_does_not_hear_its_own_change_live(tmp_path: Path, database_url: str) -> None:
    simulated, live = simulated_and_live(tmp_path, database_url, SCENARIO)
    check(live)
    assert live == simulated
