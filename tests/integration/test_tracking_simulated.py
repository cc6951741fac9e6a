"""Tracking in the simulator (sandbox): no link is rewritten, the email's effect says what the
sender would track (workspace `tracking`, a template's `track_clicks`/`track_opens` over it),
and a scenario's `email.clicked` scores and wakes a `wait_for` like any event."""

from __future__ import annotations

import textwrap
from pathlib import Path

from itinera.definitions.loader import load_scenario
from itinera.simulate.runner import simulate

SCENARIO = """
start: 2026-03-02T09:00:00Z
until: 3d
data:
  scoring: {email.clicked: 10}
  tracking: {email: {clicks: true}}
  templates:
    - {id: hello, subject: Hello, html: '<a href="https://vendor.test/a">a</a>'}
    - {id: quiet, subject: Quiet, text: "https://vendor.test/b", track_clicks: false}
    - {id: peek, subject: Peek, track_opens: true}
  accounts: [{id: x1, attributes: {tier: gold}}]
  people: [{id: p1, account: x1, email: p1@acme.test}]
  segments: [{id: gold, when: {account.tier: gold}}]
journeys:
  - id: engage
    entry: {segments: [gold], existing: true}
    start: hello
    nodes:
      hello: {do: [{send_email: {template: hello}}, {send_email: {template: quiet}},
                   {send_email: {template: peek}}], next: wait}
      wait: {wait_for: {events: [email.clicked], timeout: 2d}, next: clicked, on_timeout: cold}
      clicked: {do: [{set: {account.route: hot}}]}
      cold: {do: [{set: {account.route: cold}}]}
timeline:
  - {at: 0s, enable: engage}
  - {at: 1h, event: {type: email.clicked, person: p1, properties: {journey: engage, node: hello, link: 0}}}
"""


def test_tracking_in_the_simulator(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(SCENARIO), encoding="utf-8")
    simulation = simulate(load_scenario(path), database_url=database_url)
    try:
        result = simulation.result()
        tracks = {f.payload["template"]: f.payload.get("track")
                  for f in simulation.store.effects() if f.channel == "email"}
        html = {f.payload["template"]: f.payload.get("html")
                for f in simulation.store.effects() if f.channel == "email"}
    finally:
        simulation.store.close()
    assert tracks == {"hello": {"clicks": True, "opens": False}, "quiet": None,
                      "peek": {"clicks": True, "opens": True}}
    assert html["hello"] == '<a href="https://vendor.test/a">a</a>'  # nothing rewritten
    assert result["accounts"]["x1"]["attributes"]["route"] == "hot"
    assert result["people"]["p1"]["score"] == 10  # the scoring rule saw the click
