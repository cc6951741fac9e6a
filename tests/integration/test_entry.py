"""Entry (spec/journeys.md, "Words" and "A journey"): segment entry, reenroll never / always /
{after}, one active enrollment per journey (entries ignored, not queued), entry on an event
(with `where`, and `{{ event.properties.x }}` in templates), existing true / false."""

from __future__ import annotations

from .helpers import T, by, enrollments, run

# Three journeys on one segment; each enrollment waits 1d and completes.
# acme enters `hot` at 1d, leaves at 3d, enters at 4d, leaves at 5d, enters at 7d.
REENROLL = """
start: 2026-01-05T09:00:00Z
until: 10d
data:
  accounts:
    - {id: acme, attributes: {hot: false}}
  segments:
    - {id: hot, when: {account.hot: true}}
journeys:
  - id: once
    entry: {segments: [hot]}
    start: w
    nodes: {w: {wait: 1d}}
  - id: always
    entry: {segments: [hot], reenroll: always}
    start: w
    nodes: {w: {wait: 1d}}
  - id: after-5d
    entry: {segments: [hot], reenroll: {after: 5d}}
    start: w
    nodes: {w: {wait: 1d}}
timeline:
  - {at: 0s, enable: once}
  - {at: 0s, enable: always}
  - {at: 0s, enable: after-5d}
  - {at: 1d, upsert_account: {id: acme, attributes: {hot: true}}}
  - {at: 3d, upsert_account: {id: acme, attributes: {hot: false}}}
  - {at: 4d, upsert_account: {id: acme, attributes: {hot: true}}}
  - {at: 5d, upsert_account: {id: acme, attributes: {hot: false}}}
  - {at: 7d, upsert_account: {id: acme, attributes: {hot: true}}}
"""


def test_reenroll_never_always_and_after(tmp_path, database_url):
    # never: only the 1d entry. always: every entry (1d, 4d, 7d).
    # after 5d: the first enrollment ended at 2d; at 4d only 2d have passed → refused; at 7d
    # exactly 5d have passed ("at least 5d since the last enrollment ended") → enrolled.
    # At one instant, journeys enroll in the order they were enabled.
    result = run(tmp_path, database_url, REENROLL)
    assert by(result["enrollments"], "journey", "enrolled_at", "ended_at", "status") == [
        ("once", T("1d"), T("2d"), "completed"),
        ("always", T("1d"), T("2d"), "completed"),
        ("after-5d", T("1d"), T("2d"), "completed"),
        ("always", T("4d"), T("5d"), "completed"),
        ("always", T("7d"), T("8d"), "completed"),
        ("after-5d", T("7d"), T("8d"), "completed"),
    ]


ONE_ACTIVE = """
start: 2026-01-05T09:00:00Z
until: 12d
data:
  accounts:
    - {id: acme, attributes: {hot: false}}
  segments:
    - {id: hot, when: {account.hot: true}}
journeys:
  - id: nurture
    entry: {segments: [hot], reenroll: always}
    start: w
    nodes: {w: {wait: 5d}}
timeline:
  - {at: 0s, enable: nurture}
  - {at: 1d, upsert_account: {id: acme, attributes: {hot: true}}}
  - {at: 2d, upsert_account: {id: acme, attributes: {hot: false}}}
  - {at: 3d, upsert_account: {id: acme, attributes: {hot: true}}}
  - {at: 8d, upsert_account: {id: acme, attributes: {hot: false}}}
  - {at: 9d, upsert_account: {id: acme, attributes: {hot: true}}}
"""


def test_one_active_enrollment_per_journey_entries_are_ignored_not_queued(tmp_path, database_url):
    # The 3d entry comes while the 1d enrollment is active: ignored, whatever reenroll says,
    # and not queued (nothing starts when the first one completes at 6d). The 9d entry comes
    # when no enrollment is active: a new one, still active at the end (it ends at 14d).
    result = run(tmp_path, database_url, ONE_ACTIVE)
    assert by(result["enrollments"], "enrolled_at", "status", "ended_at") == [
        (T("1d"), "completed", T("6d")),
        (T("9d"), "active", None),
    ]


EVENT_ENTRY = """
start: 2026-01-05T09:00:00Z
until: 10d
data:
  csms: [{id: ann, name: Ann Lee}]
  accounts:
    - {id: acme, csm: ann, attributes: {name: Acme}}
    - {id: beta, csm: ann, attributes: {name: Beta}}
  people:
    - {id: acme-p, account: acme, email: p@acme.test}
journeys:
  - id: thanks
    entry:
      event: {type: invoice.paid, where: {properties.amount: {gte: 100}}}
    start: task
    nodes:
      task:
        do:
          - create_task:
              title: "Thank {{ account.name }} for {{ event.properties.invoice }}"
              assignee: csm
              due: 1d
          - set: {account.last_invoice: "{{ event.properties.invoice }}"}
timeline:
  - {at: 0s, enable: thanks}
  - {at: 1d, event: {type: invoice.paid, account: acme, properties: {amount: 50, invoice: INV-1}}}
  - {at: 2d, event: {type: invoice.paid, person: acme-p, properties: {amount: 150, invoice: INV-2}}}
  - {at: 2d, event: {type: invoice.sent, account: beta, properties: {amount: 900, invoice: INV-3}}}
  - {at: 3d, event: {type: invoice.paid, account: beta, properties: {invoice: INV-4}}}
  - {at: 4d, event: {type: invoice.paid, account: beta, properties: {amount: 500, invoice: INV-5}}}
  - {at: 5d, event: {type: invoice.paid, account: acme, properties: {amount: 200, invoice: INV-6}}}
"""


def test_entry_on_an_event_with_where_and_event_values_in_templates(tmp_path, database_url):
    # INV-1: amount 50 fails `where`. INV-2: by a person of acme → acme enrolls at 2d.
    # INV-3: another event type. INV-4: no amount (missing compares false). INV-5: beta, 4d.
    # INV-6: acme already had its enrollment (reenroll never by default) → ignored.
    result = run(tmp_path, database_url, EVENT_ENTRY)
    assert by(result["enrollments"], "journey", "account", "enrolled_at", "status", "path") == [
        ("thanks", "acme", T("2d"), "completed", ["task"]),
        ("thanks", "beta", T("4d"), "completed", ["task"]),
    ]
    assert by(result["tasks"], "account", "title", "assignee", "due") == [
        ("acme", "Thank Acme for INV-2", "ann", T("3d")),
        ("beta", "Thank Beta for INV-5", "ann", T("5d")),
    ]
    assert result["accounts"]["acme"]["attributes"]["last_invoice"] == "INV-2"


EXISTING = """
start: 2026-01-05T09:00:00Z
until: 3d
data:
  csms: [{{id: ann, name: Ann}}, {{id: bob, name: Bob}}, {{id: cat, name: Cat}}]
  accounts:
    - {{id: charlie, attributes: {{stage: new}}}}
    - {{id: alpha, attributes: {{stage: new}}}}
    - {{id: old, attributes: {{stage: live}}}}
    - {{id: bravo, attributes: {{stage: new}}}}
  segments:
    - {{id: new, when: {{account.stage: new}}}}
journeys:
  - id: assign
    entry: {{segments: [new], existing: {existing}}}
    start: pick
    nodes:
      pick: {{do: [{{assign_csm: {{strategy: round_robin, pool: [ann, bob, cat]}}}}]}}
timeline:
  - {{at: 0s, enable: assign}}
  - {{at: 1d, upsert_account: {{id: delta, attributes: {{stage: new}}}}}}
"""


def test_existing_true_enrolls_members_in_ascending_id_order(tmp_path, database_url):
    # Members at enable: alpha, bravo, charlie (ascending id, not data order) → ann, bob, cat;
    # delta enters at 1d → ann again. `old` is not a member.
    result = run(tmp_path, database_url, EXISTING.format(existing="true"))
    assert by(result["enrollments"], "account", "enrolled_at") == [
        ("alpha", T("0s")), ("bravo", T("0s")), ("charlie", T("0s")), ("delta", T("1d"))]
    assert {a: result["accounts"][a]["csm"] for a in ("alpha", "bravo", "charlie", "delta", "old")} \
        == {"alpha": "ann", "bravo": "bob", "charlie": "cat", "delta": "ann", "old": None}


def test_existing_false_enrolls_only_accounts_that_enter_later(tmp_path, database_url):
    # Being a member when the journey is enabled is not an entry.
    result = run(tmp_path, database_url, EXISTING.format(existing="false"))
    assert by(result["enrollments"], "account", "enrolled_at") == [("delta", T("1d"))]
    assert enrollments(result, "assign", "alpha") == []


def test_being_in_the_segment_at_start_is_not_an_entry(tmp_path, database_url):
    # `data` memberships are in place before the timeline: a journey without `existing` does
    # not enroll them, and an upsert that changes nothing is no entry.
    text = EXISTING.format(existing="false").replace(
        "  - {at: 1d, upsert_account: {id: delta, attributes: {stage: new}}}",
        "  - {at: 1d, upsert_account: {id: alpha, attributes: {stage: new}}}")
    result = run(tmp_path, database_url, text)
    assert result["enrollments"] == []
    assert result["accounts"]["alpha"]["segments"] == ["new"]


BOTH = """
start: 2026-01-05T09:00:00Z
until: 5d
data:
  accounts:
    - {id: a, attributes: {tier: gold, region: EU}}
    - {id: b, attributes: {tier: silver}}
    - {id: c, attributes: {tier: silver}}
  segments:
    - {id: gold, when: {account.tier: gold}}
    - {id: eu, when: {account.region: EU}}
journeys:
  - id: j
    entry: {segments: [gold, eu], event: {type: demo.requested}, existing: true}
    start: w
    nodes: {w: {wait: 1d}}
timeline:
  - {at: 0s, enable: j}
  - {at: 1d, event: {type: demo.requested, account: b}}
  - {at: 2d, upsert_account: {id: c, attributes: {region: EU}}}
"""


def test_entry_by_segments_and_event_together(tmp_path, database_url):
    # a is in both entry segments at enable: one enrollment. b enters on the event (1d),
    # c by entering `eu` (2d).
    result = run(tmp_path, database_url, BOTH)
    assert by(result["enrollments"], "account", "enrolled_at") == [
        ("a", T("0s")), ("b", T("1d")), ("c", T("2d"))]
