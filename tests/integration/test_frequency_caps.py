"""Frequency caps: a person over the workspace's email cap gets no email, and the skip is
recorded with its reason; the window slides (now − per < at ≤ now)."""

from __future__ import annotations

from pathlib import Path

from .helpers import run

SCENARIO = """
start: 2026-01-05T09:00:00Z
until: 10d
data:
  frequency_caps: {email: {max: 2, per: 7d}}
  accounts: [{id: acme, attributes: {name: Acme, tier: gold}}]
  people: [{id: p1, account: acme, email: p1@acme.test}]
  segments: [{id: gold, when: {account.tier: gold}}]
  templates: [{id: a, subject: A}, {id: b, subject: B}]
journeys:
  - id: drip
    entry: {segments: [gold], existing: true}
    start: one
    nodes:
      one: {do: [{send_email: {template: a}}, {send_email: {template: b}}], next: wait-2d}
      wait-2d: {wait: 2d, next: two}
      two: {do: [{send_email: {template: a}}], next: wait-5d}
      wait-5d: {wait: 5d, next: three}
      three: {do: [{send_email: {template: b}}]}
timeline:
  - {at: 0s, enable: drip}
"""


def test_emails_over_the_cap_are_skipped_with_the_reason(tmp_path: Path,
                                                         database_url: str) -> None:
    result = run(tmp_path, database_url, SCENARIO)
    # Day 0: two emails (the cap). Day 2: a third within 7 days → skipped. Day 7: the day-0
    # emails are exactly 7 days old, out of the window (now − 7d < at is false) → sent.
    assert [(d["template"], d["at"]) for d in result["deliveries"]] == [
        ("a", "2026-01-05T09:00:00Z"), ("b", "2026-01-05T09:00:00Z"),
        ("b", "2026-01-12T09:00:00Z")]
    assert [(s["reason"], s["node"], s["at"]) for s in result["skipped"]] == [
        ("frequency_cap", "two", "2026-01-07T09:00:00Z")]
