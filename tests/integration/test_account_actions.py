"""Account actions (spec/journeys.md, "Actions"): set, copy, clear, increase, assign_csm
(round_robin, least_loaded, fixed), assign_playbook, create_task, add_moment,
set_buying_group_status, webhook."""

from __future__ import annotations

import json

from .helpers import T, by, enrollment, run

BASE = """
start: 2026-01-05T09:00:00Z
until: 10d
data:
  csms:
    - {{id: ann, name: Ann Lee, email: ann@vendor.test}}
    - {{id: bob, name: Bob Roy}}
    - {{id: cat, name: Cat Diaz}}
  playbooks: [renewal, expansion]
  role_templates:
    - id: enterprise
      roles: [{{name: Decision Maker, weight: vital}}, {{name: Product SME, weight: important}}]
  accounts:
    - id: acme
      csm: ann
      attributes: {{name: Acme, region: EMEA, visits: 2, legacy_flag: true, tier: gold}}
  people:
    - {{id: p1, account: acme, email: p1@acme.test, attributes: {{title: CEO}}}}
  buying_groups:
    - account: acme
      solution: Widgets
      template: enterprise
      members: [{{person: p1, role: Decision Maker}}]
  segments:
    - {{id: gold, when: {{account.tier: gold}}}}
journeys:
  - id: j
    entry: {{segments: [gold], existing: true}}
    start: {start}
    nodes:
{nodes}
timeline:
  - {{at: 0s, enable: j}}
"""


def run_nodes(tmp_path, database_url, nodes: str, start: str = "act"):
    body = "\n".join("      " + line for line in nodes.strip("\n").splitlines())
    return run(tmp_path, database_url, BASE.format(start=start, nodes=body))


def attributes(result, account: str = "acme"):
    return result["accounts"][account]["attributes"]


def test_set_writes_values_and_renders_templates(tmp_path, database_url):
    result = run_nodes(tmp_path, database_url, """
act:
  do:
    - set:
        account.greeting: "Hello {{ account.name }} ({{ account.attributes.region }})"
        account.band: 3
        account.active: true
        account.region: APAC
""")
    attrs = attributes(result)
    assert attrs["greeting"] == "Hello Acme (EMEA)"
    assert attrs["band"] == 3 and attrs["active"] is True
    assert attrs["region"] == "APAC"
    assert enrollment(result, "j", "acme")["path"] == ["act"]


def test_copy_copies_an_attribute_and_a_builtin(tmp_path, database_url):
    # account.csm is the built-in (ann); account.region the attribute.
    result = run_nodes(tmp_path, database_url, """
act:
  do:
    - copy: {from: account.region, to: account.home_region}
    - copy: {from: account.csm, to: account.owner}
""")
    attrs = attributes(result)
    assert (attrs["home_region"], attrs["region"], attrs["owner"]) == ("EMEA", "EMEA", "ann")
    assert result["accounts"]["acme"]["csm"] == "ann"


def test_clear_removes_the_attribute(tmp_path, database_url):
    result = run_nodes(tmp_path, database_url, """
act: {do: [{clear: account.legacy_flag}]}
""")
    assert "legacy_flag" not in attributes(result)
    assert attributes(result)["region"] == "EMEA"


def test_increase_adds_and_a_missing_attribute_counts_as_zero(tmp_path, database_url):
    """visits 2 + 3 = 5; logins is missing, so 0 + 1 = 1. Decision (spec silent on number
    types): increasing an integer by an integer gives an integer, shown as 1, not 1.0."""
    result = run_nodes(tmp_path, database_url, """
act:
  do:
    - increase: {account.visits: 3}
    - increase: {account.logins: 1}
    - increase: {account.logins: 1}
""")
    attrs = attributes(result)
    assert (attrs["visits"], attrs["logins"]) == (5, 2)
    assert json.dumps({"visits": attrs["visits"], "logins": attrs["logins"]}) == \
        '{"visits": 5, "logins": 2}'


def test_assign_csm_fixed(tmp_path, database_url):
    result = run_nodes(tmp_path, database_url, """
act: {do: [{assign_csm: {strategy: fixed, csm: bob}}]}
""")
    assert result["accounts"]["acme"]["csm"] == "bob"


ROUND_ROBIN = """
start: 2026-01-05T09:00:00Z
until: 2d
data:
  csms: [{id: ann, name: Ann}, {id: bob, name: Bob}, {id: cat, name: Cat}]
  accounts:
    - {id: a3, attributes: {kind: a}}
    - {id: a1, attributes: {kind: a}}
    - {id: a4, attributes: {kind: a}}
    - {id: a2, attributes: {kind: a}}
    - {id: b1, attributes: {kind: b}}
    - {id: b2, attributes: {kind: b}}
  segments:
    - {id: kind-a, when: {account.kind: a}}
    - {id: kind-b, when: {account.kind: b}}
journeys:
  - id: rr
    entry: {segments: [kind-a], existing: true}
    start: n1
    nodes:
      n1:
        do:
          - assign_csm: {strategy: round_robin, pool: [ann, bob, cat]}
          - copy: {from: account.csm, to: account.first}
        next: n2
      n2: {do: [{assign_csm: {strategy: round_robin, pool: [bob, ann]}}]}
  - id: rr2
    entry: {segments: [kind-b], existing: true}
    start: n1
    nodes:
      n1: {do: [{assign_csm: {strategy: round_robin, pool: [ann, bob, cat]}}]}
timeline:
  - {at: 0s, enable: rr}
  - {at: 0s, enable: rr2}
"""


def test_round_robin_cycles_per_journey_and_node(tmp_path, database_url):
    # existing: enrolled in ascending id order a1..a4. rr/n1 cycles ann, bob, cat, ann;
    # rr/n2 has its own cycle over [bob, ann] starting at its first member: bob, ann, bob, ann;
    # rr2/n1 (same node id, other journey) starts again at ann: b1 ann, b2 bob.
    result = run(tmp_path, database_url, ROUND_ROBIN)
    accounts = result["accounts"]
    assert [accounts[a]["attributes"]["first"] for a in ("a1", "a2", "a3", "a4")] == \
        ["ann", "bob", "cat", "ann"]
    assert [accounts[a]["csm"] for a in ("a1", "a2", "a3", "a4")] == ["bob", "ann", "bob", "ann"]
    assert [accounts[a]["csm"] for a in ("b1", "b2")] == ["ann", "bob"]
    assert by(result["enrollments"], "journey", "account") == [
        ("rr", "a1"), ("rr", "a2"), ("rr", "a3"), ("rr", "a4"), ("rr2", "b1"), ("rr2", "b2")]


LEAST_LOADED = """
start: 2026-01-05T09:00:00Z
until: 3d
data:
  csms: [{id: ann, name: Ann}, {id: bob, name: Bob}, {id: cat, name: Cat}, {id: dan, name: Dan}]
  accounts:
    - {id: x1, csm: ann, attributes: {stage: live}}
    - {id: x2, csm: ann, attributes: {stage: live}}
    - {id: x3, csm: bob, attributes: {stage: live}}
    - {id: x4, csm: dan, attributes: {stage: live}}
    - {id: n2, attributes: {stage: new}}
    - {id: n1, attributes: {stage: new}}
    - {id: n4, attributes: {stage: new}}
    - {id: n3, attributes: {stage: new}}
  segments:
    - {id: new, when: {account.stage: new}}
journeys:
  - id: assign
    entry: {segments: [new], existing: true}
    start: pick
    nodes:
      pick: {do: [{assign_csm: {strategy: least_loaded, pool: [ann, bob, cat]}}]}
timeline:
  - {at: 0s, enable: assign}
  - {at: 1d, upsert_account: {id: x1, csm: cat}}
  - {at: 2d, upsert_account: {id: n5, attributes: {stage: new}}}
"""


def test_least_loaded_counts_every_account_of_each_csm_at_that_instant(tmp_path, database_url):
    # Loads from data: ann 2 (x1, x2), bob 1 (x3), cat 0 (dan is not in the pool).
    # n1 → cat (0);            loads ann 2, bob 1, cat 1
    # n2 → bob (tie with cat, pool order);  ann 2, bob 2, cat 1
    # n3 → cat;                ann 2, bob 2, cat 2
    # n4 → ann (three-way tie, pool order); ann 3, bob 2, cat 2
    # 1d: x1 moves from ann to cat, however it was assigned: ann 2, bob 2, cat 3
    # n5 (new at 2d) → ann (tie with bob, pool order). Without counting the move it would be bob.
    result = run(tmp_path, database_url, LEAST_LOADED)
    csm = {a: result["accounts"][a]["csm"] for a in ("n1", "n2", "n3", "n4", "n5")}
    assert csm == {"n1": "cat", "n2": "bob", "n3": "cat", "n4": "ann", "n5": "ann"}
    assert enrollment(result, "assign", "n5")["enrolled_at"] == T("2d")


def test_assign_playbook_adds_to_the_account_playbooks(tmp_path, database_url):
    result = run_nodes(tmp_path, database_url, """
act:
  do:
    - assign_playbook: renewal
    - assign_playbook: expansion
""")
    assert result["accounts"]["acme"]["playbooks"] == ["renewal", "expansion"]


def test_create_task_for_the_csm_and_for_an_explicit_assignee(tmp_path, database_url):
    # After a 1d wait, tasks are created at start + 1d; due = creation + duration.
    result = run_nodes(tmp_path, database_url, """
act: {wait: 1d, next: tasks}
tasks:
  do:
    - create_task:
        {title: "Call {{ account.name }}", assignee: csm, due: 2d, notes: "Region {{ account.region }}"}
    - create_task: {title: Review contract, assignee: bob, due: 12h}
""")
    tasks = [{k: t[k] for k in ("account", "title", "assignee", "due", "journey", "node")}
             for t in result["tasks"]]
    assert tasks == [
        {"account": "acme", "title": "Call Acme", "assignee": "ann", "due": T("3d"),
         "journey": "j", "node": "tasks"},
        {"account": "acme", "title": "Review contract", "assignee": "bob", "due": T("1d", "12h"),
         "journey": "j", "node": "tasks"},
    ]
    assert result["tasks"][0]["notes"] == "Region EMEA"


def test_create_task_for_the_csm_assigned_earlier_in_the_same_node(tmp_path, database_url):
    # `assignee: csm` is the account's CSM when the task is created: cat, just assigned.
    result = run_nodes(tmp_path, database_url, """
act:
  do:
    - assign_csm: {strategy: fixed, csm: cat}
    - create_task: {title: Kick-off, assignee: csm, due: 1d}
""")
    assert by(result["tasks"], "assignee", "due") == [("cat", T("1d"))]


def test_add_moment(tmp_path, database_url):
    result = run_nodes(tmp_path, database_url, """
act: {wait: 2d, next: mark}
mark: {do: [{add_moment: {type: Milestone, description: "Kick-off with {{ account.name }}"}}]}
""")
    assert result["accounts"]["acme"]["moments"] == [
        {"type": "Milestone", "description": "Kick-off with Acme", "at": T("2d")}]


def test_set_buying_group_status(tmp_path, database_url):
    result = run_nodes(tmp_path, database_url, """
act: {do: [{set_buying_group_status: {solution: Widgets, status: Engaged}}]}
""")
    [group] = result["buying_groups"]
    assert (group["account"], group["solution"], group["status"]) == ("acme", "Widgets", "Engaged")
    # Status does not change the scores: p1 (score 0) is the only member, 1 of 2 roles.
    assert (group["engagement_score"], group["completeness_score"]) == (0, 50)


def test_webhook_is_a_sandboxed_delivery(tmp_path, database_url):
    result = run_nodes(tmp_path, database_url, """
act: {wait: 1d, next: hook}
hook:
  do:
    - webhook:
        url: "https://hooks.test/accounts/{{ account.id }}"
        method: PUT
        body: {name: "{{ account.name }}", csm: "{{ csm.name }}"}
""")
    [delivery] = result["deliveries"]
    assert {k: delivery[k] for k in ("channel", "journey", "node", "account", "url", "method",
                                     "body", "at", "status")} == {
        "channel": "webhook", "journey": "j", "node": "hook", "account": "acme",
        "url": "https://hooks.test/accounts/acme", "method": "PUT",
        "body": {"name": "Acme", "csm": "Ann Lee"}, "at": T("1d"), "status": "sent"}
    assert result["skipped"] == []
