"""Goals and exit rules (spec/journeys.md, "A journey" and "Order of evaluation"): goal with
on_met exit or continue, goal met at enrollment, exit.when (also at enrollment),
on_segment_exit, unenroll_from (named and "*")."""

from __future__ import annotations

from .helpers import T, by, enrollment, run

BASE = """
start: 2026-01-05T09:00:00Z
until: 10d
data:
  accounts:
    - {{id: acme, attributes: {{name: Acme, tier: gold{extra}}}}}
  segments:
    - {{id: gold, when: {{account.tier: gold}}}}
journeys:
  - id: j
    entry: {{segments: [gold], existing: true}}
{rules}
    start: w
    nodes:
      w: {{wait: 5d, next: after}}
      after: {{do: [{{set: {{account.after: true}}}}]}}
timeline:
  - {{at: 0s, enable: j}}
{timeline}
"""


def run_rules(tmp_path, database_url, rules: str, timeline: str = "", extra: str = ""):
    rules_text = "\n".join("    " + line for line in rules.strip("\n").splitlines())
    timeline_text = "\n".join("  " + line for line in timeline.strip("\n").splitlines())
    result = run(tmp_path, database_url, BASE.format(rules=rules_text, timeline=timeline_text,
                                                     extra=extra))
    return result, enrollment(result, "j", "acme")


def outcome(e):
    return (e["status"], e["reason"], e["goal_achieved"], e["goal_at"], e["ended_at"], e["path"])


# -- goal ------------------------------------------------------------------------------------------

def test_goal_with_on_met_exit_ends_the_enrollment_when_met(tmp_path, database_url):
    result, e = run_rules(tmp_path, database_url, "goal: {when: {account.stage: won}, on_met: exit}",
                          "- {at: 2d, upsert_account: {id: acme, attributes: {stage: won}}}")
    assert outcome(e) == ("exited", "goal", True, T("2d"), T("2d"), ["w"])
    assert "after" not in result["accounts"]["acme"]["attributes"]


def test_goal_with_on_met_continue_is_recorded_and_the_journey_goes_on(tmp_path, database_url):
    _result, e = run_rules(tmp_path, database_url,
                          "goal: {when: {account.stage: won}, on_met: continue}",
                          "- {at: 2d, upsert_account: {id: acme, attributes: {stage: won}}}")
    assert outcome(e) == ("completed", "completed", True, T("2d"), T("5d"), ["w", "after"])


def test_goal_is_set_once_with_the_time_it_was_first_met(tmp_path, database_url):
    _result, e = run_rules(tmp_path, database_url,
                          "goal: {when: {account.stage: won}, on_met: continue}", """
- {at: 1d, upsert_account: {id: acme, attributes: {stage: won}}}
- {at: 2d, upsert_account: {id: acme, attributes: {stage: lost}}}
- {at: 3d, upsert_account: {id: acme, attributes: {stage: won}}}
""")
    assert (e["goal_achieved"], e["goal_at"]) == (True, T("1d"))


def test_goal_on_met_defaults_to_exit(tmp_path, database_url):
    _result, e = run_rules(tmp_path, database_url, "goal: {when: {account.stage: won}}",
                          "- {at: 1d, upsert_account: {id: acme, attributes: {stage: won}}}")
    assert outcome(e) == ("exited", "goal", True, T("1d"), T("1d"), ["w"])


def test_goal_met_at_enrollment_gives_an_empty_path_ended_at_enrollment(tmp_path, database_url):
    _result, e = run_rules(tmp_path, database_url, "goal: {when: {account.stage: won}, on_met: exit}",
                          extra=", stage: won")
    assert outcome(e) == ("exited", "goal", True, T("0s"), T("0s"), [])
    assert e["enrolled_at"] == T("0s")


def test_goal_met_at_enrollment_with_continue_runs_the_journey(tmp_path, database_url):
    _result, e = run_rules(tmp_path, database_url,
                          "goal: {when: {account.stage: won}, on_met: continue}",
                          extra=", stage: won")
    assert outcome(e) == ("completed", "completed", True, T("0s"), T("5d"), ["w", "after"])


def test_goal_not_met(tmp_path, database_url):
    _result, e = run_rules(tmp_path, database_url, "goal: {when: {account.stage: won}, on_met: exit}")
    assert outcome(e) == ("completed", "completed", False, None, T("5d"), ["w", "after"])


# -- exit.when -----------------------------------------------------------------------------------------

def test_exit_when_unenrolls_an_active_enrollment(tmp_path, database_url):
    result, e = run_rules(tmp_path, database_url, "exit: {when: {account.status: churned}}",
                          "- {at: 3d, upsert_account: {id: acme, attributes: {status: churned}}}")
    assert outcome(e) == ("unenrolled", "exit_criteria", False, None, T("3d"), ["w"])
    assert "after" not in result["accounts"]["acme"]["attributes"]


def test_exit_when_holding_at_enrollment_gives_an_empty_path(tmp_path, database_url):
    _result, e = run_rules(tmp_path, database_url, "exit: {when: {account.status: churned}}",
                          extra=", status: churned")
    assert outcome(e) == ("unenrolled", "exit_criteria", False, None, T("0s"), [])


# -- on_segment_exit ---------------------------------------------------------------------------------------

SEGMENT_EXIT = """
start: 2026-01-05T09:00:00Z
until: 10d
data:
  accounts:
    - {id: acme, attributes: {heat: 0}}
  segments:
    - {id: hot, when: {account.heat: {gte: 80}}}
    - {id: warm, when: {account.heat: {gte: 50}}}
journeys:
  - id: strict
    entry: {segments: [hot, warm]}
    exit: {on_segment_exit: true}
    start: w
    nodes:
      w: {wait: 8d}
  - id: lenient
    entry: {segments: [hot]}
    start: w
    nodes:
      w: {wait: 8d}
timeline:
  - {at: 0s, enable: strict}
  - {at: 0s, enable: lenient}
  - {at: 1d, upsert_account: {id: acme, attributes: {heat: 90}}}
  - {at: 2d, upsert_account: {id: acme, attributes: {heat: 60}}}
  - {at: 3d, upsert_account: {id: acme, attributes: {heat: 10}}}
"""


def test_on_segment_exit_only_when_leaving_every_entry_segment(tmp_path, database_url):
    # 1d: enters hot and warm → enrolled in both journeys. 2d: leaves hot but is still in warm
    # → strict stays. 3d: leaves warm, its last entry segment → strict unenrolled, segment_exit.
    # lenient has on_segment_exit false (the default): leaving hot changes nothing.
    result = run(tmp_path, database_url, SEGMENT_EXIT)
    strict = enrollment(result, "strict", "acme")
    assert (strict["status"], strict["reason"], strict["enrolled_at"], strict["ended_at"]) == \
        ("unenrolled", "segment_exit", T("1d"), T("3d"))
    lenient = enrollment(result, "lenient", "acme")
    assert (lenient["status"], lenient["reason"], lenient["ended_at"]) == \
        ("completed", "completed", T("9d"))
    assert result["accounts"]["acme"]["segments"] == []


# -- unenroll_from -----------------------------------------------------------------------------------------

UNENROLL = """
start: 2026-01-05T09:00:00Z
until: 10d
data:
  accounts:
    - {{id: acme, attributes: {{plan: trial}}}}
  segments:
    - {{id: trial, when: {{account.plan: trial}}}}
    - {{id: paid, when: {{account.plan: paid}}}}
journeys:
  - id: trial-nurture
    entry: {{segments: [trial], existing: true}}
    start: w
    nodes: {{w: {{wait: 9d}}}}
  - id: trial-tips
    entry: {{segments: [trial], existing: true}}
    start: w
    nodes: {{w: {{wait: 9d}}}}
  - id: paid-onboarding
    entry: {{segments: [paid]}}
    exit: {{unenroll_from: {targets}}}
    start: w
    nodes: {{w: {{wait: 1d}}}}
timeline:
  - {{at: 0s, enable: trial-nurture}}
  - {{at: 0s, enable: trial-tips}}
  - {{at: 0s, enable: paid-onboarding}}
  - {{at: 2d, upsert_account: {{id: acme, attributes: {{plan: paid}}}}}}
"""


def test_unenroll_from_named_journeys(tmp_path, database_url):
    result = run(tmp_path, database_url, UNENROLL.format(targets="[trial-nurture]"))
    nurture = enrollment(result, "trial-nurture", "acme")
    assert (nurture["status"], nurture["reason"], nurture["ended_at"]) == \
        ("unenrolled", "unenrolled_by:paid-onboarding", T("2d"))
    tips = enrollment(result, "trial-tips", "acme")
    assert (tips["status"], tips["reason"], tips["ended_at"]) == ("completed", "completed", T("9d"))
    paid = enrollment(result, "paid-onboarding", "acme")
    assert (paid["status"], paid["enrolled_at"], paid["ended_at"]) == ("completed", T("2d"), T("3d"))


def test_unenroll_from_star_ends_every_other_journey(tmp_path, database_url):
    result = run(tmp_path, database_url, UNENROLL.format(targets='["*"]'))
    assert by(result["enrollments"], "journey", "status", "reason", "ended_at") == [
        ("trial-nurture", "unenrolled", "unenrolled_by:paid-onboarding", T("2d")),
        ("trial-tips", "unenrolled", "unenrolled_by:paid-onboarding", T("2d")),
        ("paid-onboarding", "completed", "completed", T("3d")),
    ]


def test_a_time_based_exit_criterion_applies_at_the_exact_instant(tmp_path, database_url):
    # older_than 1d: value ≤ now − 1d. trial_ends 2026-01-07T15:00Z → holds from
    # 2026-01-08T15:00Z (start + 3d 6h), with no input at that instant.
    _result, e = run_rules(tmp_path, database_url,
                          "exit: {when: {account.trial_ends: {older_than: 1d}}}",
                          extra=', trial_ends: "2026-01-07T15:00:00Z"')
    assert outcome(e) == ("unenrolled", "exit_criteria", False, None, T("3d", "6h"), ["w"])


def test_a_time_based_goal_is_met_at_the_exact_instant(tmp_path, database_url):
    # within_last 2d on a future date first holds when now reaches it: 2026-01-07T11:15Z.
    _result, e = run_rules(tmp_path, database_url,
                          "goal: {when: {account.kickoff_at: {within_last: 2d}}, on_met: exit}",
                          extra=', kickoff_at: "2026-01-07T11:15:00Z"')
    assert outcome(e) == ("exited", "goal", True, "2026-01-07T11:15:00Z", "2026-01-07T11:15:00Z", ["w"])


def test_unenroll_from_runs_even_when_the_new_enrollment_meets_its_goal_at_once(
        tmp_path, database_url):
    # "first `unenroll_from`, then `exit.when` and the goal": paid-onboarding's goal holds as
    # it enrolls (path [], exited), and trial-nurture is still unenrolled by it.
    text = UNENROLL.format(targets="[trial-nurture]").replace(
        "    exit: {unenroll_from: [trial-nurture]}",
        "    exit: {unenroll_from: [trial-nurture]}\n    goal: {when: {account.plan: paid}}")
    result = run(tmp_path, database_url, text)
    paid = enrollment(result, "paid-onboarding", "acme")
    assert (paid["status"], paid["reason"], paid["path"], paid["ended_at"]) == \
        ("exited", "goal", [], T("2d"))
    nurture = enrollment(result, "trial-nurture", "acme")
    assert (nurture["status"], nurture["reason"]) == ("unenrolled", "unenrolled_by:paid-onboarding")
