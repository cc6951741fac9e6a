"""Order of evaluation (spec/journeys.md): journeys enroll in the order they were enabled;
timers due at an instant run before that instant's inputs, in the order they were set; within
a step: segment exit, then exit.when, then the goal, then waking wait_for; the checks after a
node's actions; data changed by an action settles within the same instant."""

from __future__ import annotations

from .helpers import T, by, enrollment, run

TWO_JOURNEYS = """
start: 2026-01-05T09:00:00Z
until: 5d
data:
  csms: [{{id: ann, name: Ann}}]
  accounts:
    - {{id: acme, attributes: {{hot: false}}}}
  segments:
    - {{id: hot, when: {{account.hot: true}}}}
journeys:
  - id: listed-first
    entry: {{segments: [hot]}}
    start: t
    nodes: {{t: {{do: [{{create_task: {{title: from listed-first, assignee: ann}}}}]}}}}
  - id: listed-second
    entry: {{segments: [hot]}}
    start: t
    nodes: {{t: {{do: [{{create_task: {{title: from listed-second, assignee: ann}}}}]}}}}
timeline:
{enables}
  - {{at: 2d, upsert_account: {{id: acme, attributes: {{hot: true}}}}}}
"""


def test_journeys_enroll_in_the_order_they_were_enabled(tmp_path, database_url):
    # Enabled second-listed first: at 2d it enrolls (and runs) first.
    result = run(tmp_path, database_url, TWO_JOURNEYS.format(enables="""\
  - {at: 0s, enable: listed-second}
  - {at: 0s, enable: listed-first}"""))
    assert by(result["enrollments"], "journey", "enrolled_at") == [
        ("listed-second", T("2d")), ("listed-first", T("2d"))]
    assert by(result["tasks"], "title") == [("from listed-second",), ("from listed-first",)]


def test_a_journey_enabled_again_comes_after_the_others(tmp_path, database_url):
    # listed-first was enabled first, but disabled and enabled again at 1d: it is now the
    # journey enabled last.
    result = run(tmp_path, database_url, TWO_JOURNEYS.format(enables="""\
  - {at: 0s, enable: listed-first}
  - {at: 0s, enable: listed-second}
  - {at: 1d, disable: listed-first}
  - {at: 1d, enable: listed-first}"""))
    assert by(result["enrollments"], "journey") == [("listed-second",), ("listed-first",)]


BASE = """
start: 2026-01-05T09:00:00Z
until: 6d
data:
  csms: [{{id: ann, name: Ann}}]
  accounts:
    - {{id: acme, attributes: {{tier: gold}}}}
  people:
    - {{id: p1, account: acme, email: p1@acme.test}}
  segments:
    - {{id: gold, when: {{account.tier: gold}}}}
journeys:
  - id: j
    entry: {{segments: [gold], existing: true}}
{rules}
    start: {start}
    nodes:
{nodes}
timeline:
  - {{at: 0s, enable: j}}
{timeline}
"""


def run_j(tmp_path, database_url, nodes: str, timeline: str = "", rules: str = "",
          start: str = "w"):
    def indent(text: str, by: int) -> str:
        return "\n".join(" " * by + line for line in text.strip("\n").splitlines())

    result = run(tmp_path, database_url, BASE.format(
        rules=indent(rules, 4) if rules else "", start=start, nodes=indent(nodes, 6),
        timeline=indent(timeline, 2) if timeline else ""))
    return result, enrollment(result, "j", "acme")


def test_a_timer_due_at_an_instant_runs_before_that_instants_inputs(tmp_path, database_url):
    # The wait is over at 2d, and the flag is set at 2d: the timer goes first, so the split
    # still sees no flag.
    _result, e = run_j(tmp_path, database_url, """
w: {wait: 2d, next: check}
check:
  split:
    - {when: {account.flag: true}, next: flagged}
    - {else: plain}
flagged: {end: true}
plain: {end: true}
""", "- {at: 2d, upsert_account: {id: acme, attributes: {flag: true}}}")
    assert (e["path"], e["ended_at"]) == (["w", "check", "plain"], T("2d"))


def test_a_timeout_at_the_instant_of_the_event_wins(tmp_path, database_url):
    _result, e = run_j(tmp_path, database_url, """
w:
  wait_for: {events: [email.clicked], timeout: 2d}
  next: hot
  on_timeout: cold
hot: {end: true}
cold: {end: true}
""", "- {at: 2d, event: {type: email.clicked, person: p1}}")
    assert e["path"] == ["w", "cold"]


SAME_INSTANT = """
start: 2026-01-05T09:00:00Z
until: 5d
data:
  csms: [{id: ann, name: Ann}]
  accounts:
    - {id: a}
    - {id: b}
journeys:
  - id: j
    entry: {event: {type: signed}}
    start: route
    nodes:
      route:
        split:
          - {when: {account.id: a}, next: pause}
          - {else: hold}
      pause: {wait: 2d, next: hold}
      hold: {wait_until: {at: "2026-01-08T09:00:00Z"}, next: task}
      task: {do: [{create_task: {title: "Call {{ account.id }}", assignee: ann}}]}
timeline:
  - {at: 0s, enable: j}
  - {at: 0s, event: {type: signed, account: a}}
  - {at: 1d, event: {type: signed, account: b}}
"""


def test_timers_due_at_one_instant_run_in_the_order_they_were_set(tmp_path, database_url):
    # a enrolls first (0s) but sets its 3d timer at 2d, after its wait; b enrolls at 1d and
    # sets its 3d timer then. Both are due at 3d: b's (set first) runs first.
    result = run(tmp_path, database_url, SAME_INSTANT)
    assert by(result["enrollments"], "account", "path", "ended_at") == [
        ("a", ["route", "pause", "hold", "task"], T("3d")),
        ("b", ["route", "hold", "task"], T("3d")),
    ]
    assert by(result["tasks"], "title", "at") == [("Call b", T("3d")), ("Call a", T("3d"))]


WAIT_5D = """
w: {wait: 5d, next: after}
after: {end: true}
"""


def test_exit_criteria_are_checked_before_the_goal(tmp_path, database_url):
    _result, e = run_j(tmp_path, database_url, WAIT_5D,
                      "- {at: 1d, upsert_account: {id: acme, attributes: {stage: won, status: churned}}}",
                      rules="goal: {when: {account.stage: won}}\nexit: {when: {account.status: churned}}")
    assert (e["status"], e["reason"], e["goal_achieved"], e["goal_at"], e["ended_at"]) == \
        ("unenrolled", "exit_criteria", False, None, T("1d"))


def test_segment_exit_is_checked_before_exit_criteria(tmp_path, database_url):
    _result, e = run_j(tmp_path, database_url, WAIT_5D,
                      "- {at: 1d, upsert_account: {id: acme, attributes: {tier: lead}}}",
                      rules="exit: {when: {account.tier: lead}, on_segment_exit: true}")
    assert (e["status"], e["reason"], e["ended_at"]) == ("unenrolled", "segment_exit", T("1d"))


def test_the_goal_is_checked_before_waking_a_wait_for(tmp_path, database_url):
    # One change meets both the goal (on_met: exit) and the wait_for condition: the goal ends
    # the enrollment first; the listener never continues.
    result, e = run_j(tmp_path, database_url, """
w:
  wait_for: {condition: {account.stage: won}, timeout: 5d}
  next: celebrate
celebrate: {do: [{set: {account.celebrated: true}}]}
""", "- {at: 1d, upsert_account: {id: acme, attributes: {stage: won}}}",
                      rules="goal: {when: {account.stage: won}, on_met: exit}")
    assert (e["status"], e["reason"], e["path"], e["ended_at"]) == ("exited", "goal", ["w"], T("1d"))
    assert "celebrated" not in result["accounts"]["acme"]["attributes"]


def test_after_a_node_the_goal_ends_the_enrollment_before_the_next_node(tmp_path, database_url):
    # The node's first action meets the goal; the check runs once after all of the node's
    # actions, so its task is still created; the next node never runs.
    result, e = run_j(tmp_path, database_url, """
assign:
  do:
    - assign_csm: {strategy: fixed, csm: ann}
    - create_task: {title: Welcome call, assignee: csm, due: 1d}
  next: follow-up
follow-up:
  do: [{create_task: {title: Follow-up, assignee: csm, due: 2d}}]
""", rules="goal: {when: {account.csm: {exists: true}}, on_met: exit}", start="assign")
    assert (e["status"], e["reason"], e["path"], e["goal_at"], e["ended_at"]) == \
        ("exited", "goal", ["assign"], T("0s"), T("0s"))
    assert by(result["tasks"], "title", "assignee", "node") == [("Welcome call", "ann", "assign")]


def test_after_a_node_exit_criteria_end_the_enrollment(tmp_path, database_url):
    result, e = run_j(tmp_path, database_url, """
mark: {do: [{set: {account.status: churned}}], next: more}
more: {do: [{set: {account.more: true}}]}
""", rules="exit: {when: {account.status: churned}}", start="mark")
    assert (e["status"], e["reason"], e["path"]) == ("unenrolled", "exit_criteria", ["mark"])
    assert "more" not in result["accounts"]["acme"]["attributes"]


CASCADE = """
start: 2026-01-05T09:00:00Z
until: 5d
data:
  accounts:
    - {id: acme, attributes: {tier: gold, stage: lead}}
  segments:
    - {id: gold, when: {account.tier: gold}}
    - {id: qualified, when: {account.stage: qualified}}
journeys:
  - id: handoff
    entry: {segments: [qualified]}
    start: flag
    nodes:
      flag: {do: [{set: {account.handed_off: true}}]}
  - id: qualify
    entry: {segments: [gold], existing: true}
    start: w
    nodes:
      w: {wait: 2d, next: promote}
      promote: {do: [{set: {account.stage: qualified}}]}
timeline:
  - {at: 0s, enable: handoff}
  - {at: 0s, enable: qualify}
"""


def test_an_action_that_changes_data_enrolls_the_account_in_another_journey_at_once(
        tmp_path, database_url):
    # At 2d, qualify's action moves acme into `qualified`: handoff enrolls it at that instant.
    result = run(tmp_path, database_url, CASCADE)
    assert by(result["enrollments"], "journey", "enrolled_at", "ended_at", "path") == [
        ("qualify", T("0s"), T("2d"), ["w", "promote"]),
        ("handoff", T("2d"), T("2d"), ["flag"]),
    ]
    assert result["accounts"]["acme"]["segments"] == ["gold", "qualified"]
    assert result["accounts"]["acme"]["attributes"]["handed_off"] is True


FLIP_AND_INPUT = """
start: 2026-01-05T09:00:00Z
until: 5d
data:
  accounts:
    - {id: acme, attributes: {renewal_date: "2026-01-12T09:00:00Z"}}
  segments:
    - {id: renewal-soon, when: {account.renewal_date: {within_next: 5d}}}
journeys:
  - id: renewal
    entry: {segments: [renewal-soon]}
    start: w
    nodes: {w: {wait: 3d}}
timeline:
  - {at: 0s, enable: renewal}
  - {at: 2d, upsert_account: {id: acme, attributes: {renewal_date: "2026-06-01T09:00:00Z"}}}
"""


def test_a_scheduled_re_evaluation_runs_before_an_input_at_the_same_instant(tmp_path, database_url):
    # renewal 2026-01-12T09:00Z − 5d = start + 2d: the account enters renewal-soon by time at
    # 2d. The upsert at 2d (which pushes the date out) comes after: the enrollment happened,
    # and stays (on_segment_exit is false).
    result = run(tmp_path, database_url, FLIP_AND_INPUT)
    assert by(result["enrollments"], "enrolled_at", "status", "ended_at") == [
        (T("2d"), "completed", T("5d"))]
    assert result["accounts"]["acme"]["segments"] == []
