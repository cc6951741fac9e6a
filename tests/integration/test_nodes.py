"""Node kinds that move one path: do, split, wait, wait_until, experiment, end
(spec/journeys.md, "A journey"). People splits and merges are in test_people_paths.py,
wait_for in test_wait_for.py."""

from __future__ import annotations

import hashlib

from .helpers import T, by, enrollment, run

# One account in one segment, enrolled at start by `existing: true`.
ONE_ACCOUNT = """
start: 2026-01-05T09:00:00Z
until: {until}
data:
  accounts:
    - {{id: acme, attributes: {{name: Acme, tier: gold, size: 500, renewal_date: "2026-01-20T09:00:00Z"}}}}
  people:
    - {{id: p1, account: acme, email: p1@acme.test, attributes: {{title: CEO}}}}
  segments:
    - {{id: all, when: {{account.name: {{exists: true}}}}}}
journeys:
  - id: j
    entry: {{segments: [all], existing: true}}
    start: {start}
    nodes:
{nodes}
timeline:
  - {{at: 0s, enable: j}}
"""


def one_account(tmp_path, database_url, nodes: str, start: str, until: str = "10d"):
    body = "\n".join("      " + line for line in nodes.strip("\n").splitlines())
    return run(tmp_path, database_url, ONE_ACCOUNT.format(until=until, start=start, nodes=body))


# -- do ---------------------------------------------------------------------------------------

def test_do_runs_its_actions_in_order_then_goes_on(tmp_path, database_url):
    # Both actions of `first` run in order (the second overwrites the first), then `second`.
    result = one_account(tmp_path, database_url, """
first:
  do:
    - set: {account.step: one}
    - set: {account.step: two}
    - increase: {account.visits: 1}
  next: second
second:
  do: [{increase: {account.visits: 10}}]
""", start="first")
    e = enrollment(result, "j", "acme")
    assert e["path"] == ["first", "second"]
    assert (e["status"], e["reason"]) == ("completed", "completed")
    assert e["enrolled_at"] == e["ended_at"] == T("0s")
    attributes = result["accounts"]["acme"]["attributes"]
    assert attributes["step"] == "two"
    assert attributes["visits"] == 11


def test_a_node_without_next_ends_the_path_and_completes_the_enrollment(tmp_path, database_url):
    result = one_account(tmp_path, database_url, """
only:
  do: [{set: {account.touched: true}}]
""", start="only")
    e = enrollment(result, "j", "acme")
    assert (e["status"], e["reason"], e["path"]) == ("completed", "completed", ["only"])
    assert e["goal_achieved"] is False and e["goal_at"] is None
    assert e["variants"] == {}


def test_end_node_ends_the_path(tmp_path, database_url):
    result = one_account(tmp_path, database_url, """
a: {do: [{set: {account.a: 1}}], next: stop}
stop: {end: true}
""", start="a")
    e = enrollment(result, "j", "acme")
    assert e["path"] == ["a", "stop"]
    assert (e["status"], e["ended_at"]) == ("completed", T("0s"))


# -- split ------------------------------------------------------------------------------------

def test_split_takes_the_first_branch_whose_condition_holds(tmp_path, database_url):
    # Both the first and second branch hold (tier gold, size 500): the first one wins.
    result = one_account(tmp_path, database_url, """
check:
  split:
    - {when: {account.tier: gold}, next: first}
    - {when: {account.size: {gte: 100}}, next: second}
    - {else: other}
first: {end: true}
second: {end: true}
other: {end: true}
""", start="check")
    assert enrollment(result, "j", "acme")["path"] == ["check", "first"]


def test_split_later_branch_when_earlier_ones_fail(tmp_path, database_url):
    result = one_account(tmp_path, database_url, """
check:
  split:
    - {when: {account.tier: silver}, next: first}
    - {when: {account.size: {gte: 100}}, next: second}
    - {else: other}
first: {end: true}
second: {end: true}
other: {end: true}
""", start="check")
    assert enrollment(result, "j", "acme")["path"] == ["check", "second"]


def test_split_else_when_no_branch_holds(tmp_path, database_url):
    # A missing attribute compares false with gt, so the first branch fails too.
    result = one_account(tmp_path, database_url, """
check:
  split:
    - {when: {account.employees: {gt: 10}}, next: first}
    - {when: {account.tier: silver}, next: second}
    - {else: other}
first: {end: true}
second: {end: true}
other: {do: [{set: {account.went: other}}]}
""", start="check")
    assert enrollment(result, "j", "acme")["path"] == ["check", "other"]
    assert result["accounts"]["acme"]["attributes"]["went"] == "other"


def test_split_without_else_and_no_match_ends_the_path(tmp_path, database_url):
    # "no `else` and no match ends the path": the enrollment completes at once.
    result = one_account(tmp_path, database_url, """
check:
  split:
    - {when: {account.tier: silver}, next: first}
first: {do: [{set: {account.went: first}}]}
""", start="check")
    e = enrollment(result, "j", "acme")
    assert e["path"] == ["check"]
    assert (e["status"], e["reason"], e["ended_at"]) == ("completed", "completed", T("0s"))
    assert "went" not in result["accounts"]["acme"]["attributes"]


# -- wait -------------------------------------------------------------------------------------

def test_wait_then_next(tmp_path, database_url):
    # wait 2d from enrollment at start: `after` runs at start + 2d.
    result = one_account(tmp_path, database_url, """
pause: {wait: 2d, next: after}
after: {do: [{add_moment: {type: Milestone, description: waited}}]}
""", start="pause")
    e = enrollment(result, "j", "acme")
    assert e["path"] == ["pause", "after"]
    assert (e["status"], e["ended_at"]) == ("completed", T("2d"))
    assert result["accounts"]["acme"]["moments"] == [
        {"type": "Milestone", "description": "waited", "at": T("2d")}]


def test_wait_without_next_ends_the_path_when_the_wait_is_over(tmp_path, database_url):
    # Still active before the wait is over; completed at exactly start + 3h.
    result = one_account(tmp_path, database_url, """
pause: {wait: 3h}
""", start="pause")
    e = enrollment(result, "j", "acme")
    assert (e["path"], e["status"], e["ended_at"]) == (["pause"], "completed", T("3h"))


def test_wait_still_running_at_the_end_of_the_run_is_active(tmp_path, database_url):
    result = one_account(tmp_path, database_url, """
pause: {wait: 5d, next: after}
after: {end: true}
""", start="pause", until="4d")
    e = enrollment(result, "j", "acme")
    assert (e["path"], e["status"], e["reason"], e["ended_at"]) == (["pause"], "active", None, None)


def test_a_wait_due_exactly_at_until_still_runs(tmp_path, database_url):
    # "`until` is inclusive: what is due at exactly start + until still runs."
    result = one_account(tmp_path, database_url, """
pause: {wait: 4d, next: after}
after: {end: true}
""", start="pause", until="4d")
    e = enrollment(result, "j", "acme")
    assert (e["path"], e["status"], e["ended_at"]) == (["pause", "after"], "completed", T("4d"))
    assert result["clock"] == {"start": T("0s"), "end": T("4d")}


# -- wait_until ---------------------------------------------------------------------------------

def test_wait_until_date_attribute_with_negative_offset(tmp_path, database_url):
    # renewal_date 2026-01-20T09:00Z − 10d = 2026-01-10T09:00Z = start + 5d.
    result = one_account(tmp_path, database_url, """
hold: {wait_until: {date: account.renewal_date, offset: -10d}, next: after}
after: {do: [{add_moment: {type: Milestone, description: renewal in 10 days}}]}
""", start="hold")
    e = enrollment(result, "j", "acme")
    assert (e["path"], e["ended_at"]) == (["hold", "after"], "2026-01-10T09:00:00Z")
    assert result["accounts"]["acme"]["moments"][0]["at"] == "2026-01-10T09:00:00Z"


def test_wait_until_at_a_fixed_instant(tmp_path, database_url):
    result = one_account(tmp_path, database_url, """
hold: {wait_until: {at: "2026-01-07T12:30:00Z"}, next: after}
after: {do: [{add_moment: {type: Milestone, description: launch}}]}
""", start="hold")
    e = enrollment(result, "j", "acme")
    assert (e["path"], e["ended_at"]) == (["hold", "after"], "2026-01-07T12:30:00Z")
    assert result["accounts"]["acme"]["moments"][0]["at"] == "2026-01-07T12:30:00Z"


def test_wait_until_already_past_continues_at_once(tmp_path, database_url):
    # renewal_date − 30d = 2025-12-21, before start: "already past → continue at once".
    result = one_account(tmp_path, database_url, """
hold: {wait_until: {date: account.renewal_date, offset: -30d}, next: after}
after: {do: [{add_moment: {type: Milestone, description: late}}]}
""", start="hold")
    e = enrollment(result, "j", "acme")
    assert (e["path"], e["ended_at"]) == (["hold", "after"], T("0s"))
    assert result["accounts"]["acme"]["moments"][0]["at"] == T("0s")


def test_wait_until_a_missing_date_continues_at_once(tmp_path, database_url):
    """The spec is silent on a missing date. Decision (what a marketing-ops user expects, and
    what Marketo-style "wait until" steps do): there is no instant to wait for, so the path
    goes on at once, as for a date already past — it neither hangs forever nor ends."""
    result = one_account(tmp_path, database_url, """
hold: {wait_until: {date: account.contract_end, offset: -5d}, next: after}
after: {do: [{add_moment: {type: Milestone, description: no date}}]}
""", start="hold")
    e = enrollment(result, "j", "acme")
    assert (e["path"], e["status"], e["ended_at"]) == (["hold", "after"], "completed", T("0s"))


def test_wait_until_without_next_ends_the_path_at_that_instant(tmp_path, database_url):
    result = one_account(tmp_path, database_url, """
hold: {wait_until: {at: "2026-01-08T09:00:00Z"}}
""", start="hold")
    e = enrollment(result, "j", "acme")
    assert (e["path"], e["status"], e["ended_at"]) == (["hold"], "completed", T("3d"))


# -- experiment -------------------------------------------------------------------------------

def _expected_variant(journey: str, node: str, account: str,
                      variants: list[tuple[str, float]]) -> str:
    """spec: u = int(sha256("<journey>:<node>:<account>").hexdigest()[:8], 16) / 2**32; the
    first variant whose cumulative weight share exceeds u."""
    u = int(hashlib.sha256(f"{journey}:{node}:{account}".encode()).hexdigest()[:8], 16) / 2**32
    total = sum(w for _, w in variants)
    cumulative = 0.0
    for name, weight in variants:
        cumulative += weight
        if cumulative / total > u:
            return name
    raise AssertionError("unreachable: the last share is 1")


def test_experiment_variant_follows_the_sha256_rule(tmp_path, database_url):
    ids = [f"acc-{i:02d}" for i in range(1, 13)]
    accounts = "\n".join(f"    - {{id: {i}, attributes: {{cohort: jan}}}}" for i in ids)
    scenario = f"""
start: 2026-01-05T09:00:00Z
until: 1d
data:
  accounts:
{accounts}
  segments:
    - {{id: january, when: {{account.cohort: jan}}}}
journeys:
  - id: subject-test
    entry: {{segments: [january], existing: true}}
    start: pick
    nodes:
      pick:
        experiment:
          name: subject
          variants:
            - {{name: plain, weight: 1, next: a}}
            - {{name: bold, weight: 2, next: b}}
            - {{name: emoji, weight: 1, next: c}}
      a: {{end: true}}
      b: {{end: true}}
      c: {{end: true}}
timeline:
  - {{at: 0s, enable: subject-test}}
"""
    result = run(tmp_path, database_url, scenario)
    weights = [("plain", 1), ("bold", 2), ("emoji", 1)]
    node_after = {"plain": ["a"], "bold": ["b"], "emoji": ["c"]}
    seen = set()
    for account in ids:
        variant = _expected_variant("subject-test", "pick", account, weights)
        seen.add(variant)
        e = enrollment(result, "subject-test", account)
        assert e["variants"] == {"subject": variant}, account
        assert e["path"] == ["pick", *node_after[variant]], account
        assert e["status"] == "completed"
    assert len(seen) >= 2  # the sample really exercises more than one variant


def test_experiment_draw_depends_on_journey_and_node(tmp_path, database_url):
    # Two experiments in one journey: each is drawn with its own node id in the hash, and
    # `variants` records both by experiment name.
    scenario = """
start: 2026-01-05T09:00:00Z
until: 1d
data:
  accounts:
    - {id: globex, attributes: {cohort: jan}}
  segments:
    - {id: january, when: {account.cohort: jan}}
journeys:
  - id: two-tests
    entry: {segments: [january], existing: true}
    start: first
    nodes:
      first:
        experiment:
          name: subject
          variants: [{name: x, weight: 50, next: second}, {name: y, weight: 50, next: second}]
      second:
        experiment:
          name: timing
          variants: [{name: early, weight: 30, next: done}, {name: late, weight: 70, next: done}]
      done: {end: true}
timeline:
  - {at: 0s, enable: two-tests}
"""
    result = run(tmp_path, database_url, scenario)
    e = enrollment(result, "two-tests", "globex")
    assert e["variants"] == {
        "subject": _expected_variant("two-tests", "first", "globex", [("x", 50), ("y", 50)]),
        "timing": _expected_variant("two-tests", "second", "globex", [("early", 30), ("late", 70)]),
    }
    assert e["path"] == ["first", "second", "done"]
    assert by(result["enrollments"], "account") == [("globex",)]


def test_split_on_a_missing_attribute_holds_only_for_ne_and_exists_false(tmp_path, database_url):
    # "A missing attribute compares false with every operator except `exists: false` and `ne`."
    result = one_account(tmp_path, database_url, """
check:
  split:
    - {when: {account.employees: {lt: 10}}, next: small}
    - {when: {account.employees: {nin: [5]}}, next: small}
    - {when: {not: {account.employees: {gte: 10}}, account.employees: {ne: 5}}, next: ne}
    - {else: small}
ne:
  split:
    - {when: {account.employees: {exists: true}}, next: small}
    - {when: {account.employees: {exists: false}}, next: missing}
small: {end: true}
missing: {end: true}
""", start="check")
    assert enrollment(result, "j", "acme")["path"] == ["check", "ne", "missing"]


def test_a_node_entered_twice_is_listed_twice(tmp_path, database_url):
    # A loop with a wait in it: three attempts, one a day, then done.
    result = one_account(tmp_path, database_url, """
check:
  split:
    - {when: {account.attempts: {gte: 3}}, next: done}
    - {else: bump}
bump: {do: [{increase: {account.attempts: 1}}], next: pause}
pause: {wait: 1d, next: check}
done: {end: true}
""", start="check")
    e = enrollment(result, "j", "acme")
    assert e["path"] == ["check", "bump", "pause"] * 3 + ["check", "done"]
    assert (e["status"], e["ended_at"]) == ("completed", T("3d"))
    assert result["accounts"]["acme"]["attributes"]["attempts"] == 3
