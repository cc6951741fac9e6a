"""Same file in → byte-identical JSON out (spec/scenarios.md, "The result")."""

from __future__ import annotations

import json

from .helpers import reset_database, run

# A scenario touching most of the engine: round robin, experiment, people split and merge,
# emails with skips, a listener woken by a scoring rule, buying group scores, tasks, campaigns,
# time-based segment flips, late and duplicate events, a new account and a new person.
SCENARIO = """
start: 2026-01-05T09:00:00Z
until: 15d
data:
  csms: [{id: ann, name: Ann Lee}, {id: bob, name: Bob Roy}]
  playbooks: [rescue]
  role_templates:
    - id: enterprise
      roles: [{name: Decision Maker, weight: vital}, {name: Product SME, weight: important}]
  scoring: {email.clicked: 10, email.opened: 2}
  templates:
    - {id: intro, subject: "{{ account.name }} × {{ person.title }}", text: "...", approved: true}
  accounts:
    - {id: c1, attributes: {name: Cee, tier: gold, renewal_date: "2026-04-10T09:00:00Z"}}
    - {id: a1, attributes: {name: Ay, tier: gold, renewal_date: "2026-03-01T09:00:00Z"}}
    - {id: b1, attributes: {name: Bee, tier: silver}}
  people:
    - {id: a1-ceo, account: a1, email: ceo@a1.test, attributes: {title: CEO}}
    - {id: a1-dev, account: a1, email: dev@a1.test, attributes: {title: Developer}}
    - {id: a1-ops, account: a1, unsubscribed: true, email: ops@a1.test, attributes: {title: COO}}
    - {id: c1-cfo, account: c1, email: cfo@c1.test, attributes: {title: CFO}}
    - {id: b1-x, account: b1, attributes: {title: CTO}}
  buying_groups:
    - {account: a1, solution: X, template: enterprise, members: [{person: a1-ceo, role: Decision Maker}]}
  segments:
    - {id: gold, when: {account.tier: gold}}
    - {id: renewal-soon, when: {account.renewal_date: {within_next: 90d}}}
    - {id: active, when: {performed: {event: feature.used, within_last: 5d}}}
journeys:
  - id: outreach
    entry: {segments: [gold], existing: true}
    goal: {when: {account.stage: won}, on_met: continue}
    start: assign
    nodes:
      assign: {do: [{assign_csm: {strategy: round_robin, pool: [ann, bob]}}], next: test}
      test:
        experiment:
          name: style
          variants: [{name: short, weight: 1, next: who}, {name: long, weight: 1, next: who}]
      who:
        split_people:
          - {when: {person.title: {starts_with: C}}, next: mail}
          - {else: sme}
      mail: {do: [{send_email: {template: intro}}], next: m}
      sme:
        do: [{add_to_buying_group: {solution: X, role: Product SME}}, {add_to_campaign: {campaign: dev-day}}]
        next: m
      m: {merge: {}, next: listen}
      listen:
        wait_for: {events: [person.score_changed], timeout: 4d}
        next: hot
        on_timeout: cold
      hot: {do: [{create_task: {title: "Call {{ account.name }}", assignee: csm, due: 1d}}]}
      cold: {do: [{assign_playbook: rescue}, {webhook: {url: "https://hooks.test/{{ account.id }}"}}]}
  - id: renewal
    entry: {segments: [renewal-soon]}
    start: note
    nodes:
      note: {do: [{add_moment: {type: Milestone, description: "Renewal for {{ account.name }}"}}]}
timeline:
  - {at: 0s, enable: outreach}
  - {at: 0s, enable: renewal}
  - {at: 1d, event: {type: email.clicked, person: a1-ceo}}
  - {at: 1d, event: {id: u1, type: feature.used, person: c1-cfo}}
  - {at: 2d, event: {id: u1, type: feature.used, person: c1-cfo}}
  - {at: 3d, event: {type: feature.used, person: b1-x, at: "2026-01-07T00:00:00Z"}}
  - {at: 4d, upsert_account: {id: d1, attributes: {name: Dee, tier: gold}}}
  - {at: 4d, upsert_person: {id: d1-cio, account: d1, email: cio@d1.test, attributes: {title: CIO}}}
  - {at: 5d, upsert_account: {id: a1, attributes: {stage: won}}}
"""


def test_the_same_scenario_gives_byte_identical_json(tmp_path, database_url):
    first = json.dumps(run(tmp_path, database_url, SCENARIO))
    reset_database(database_url)
    second = json.dumps(run(tmp_path, database_url, SCENARIO))
    assert first == second
    result = json.loads(first)
    # The run did exercise the engine.
    assert len(result["enrollments"]) >= 4
    assert result["deliveries"] and result["skipped"] and result["tasks"] and result["campaigns"]


def test_the_result_does_not_depend_on_the_store_backend(tmp_path, database_url):
    """The backend is a storage detail: "Same file in → byte-identical JSON out" holds whichever
    store ran it — the same values, and the same bytes (key order included), as on the default
    in-memory SQLite store."""
    here = json.dumps(run(tmp_path, database_url, SCENARIO))
    reference = json.dumps(run(tmp_path, "sqlite://", SCENARIO))
    assert json.loads(here) == json.loads(reference)  # same values
    assert here == reference  # same bytes


KEY_ORDER = """
start: 2026-01-05T09:00:00Z
until: 1d
data:
  accounts:
    - {id: acme, attributes: {name: Acme, tier: gold, renewal_date: "2026-03-01T09:00:00Z"}}
  segments:
    - {id: gold, when: {account.tier: gold}}
journeys:
  - id: j
    entry: {segments: [gold], existing: true}
    start: mark
    nodes:
      mark:
        do:
          - add_moment: {type: Milestone, description: Kick-off}
          - set: {account.stage: won}
timeline:
  - {at: 0s, enable: j}
"""


def test_keys_keep_their_order_on_every_backend(tmp_path, database_url):
    """Byte-identical JSON needs a stable key order whichever store the engine runs on:
    moments as the spec shows them (type, description, at), and attributes in alphabetical
    order (PostgreSQL's JSONB keeps no written order; see docs/semantics.md)."""
    result = run(tmp_path, database_url, KEY_ORDER)
    account = result["accounts"]["acme"]
    assert [list(m) for m in account["moments"]] == [["type", "description", "at"]]
    assert list(account["attributes"]) == ["name", "renewal_date", "stage", "tier"]
