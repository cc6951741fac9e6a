"""Lifecycle (spec/journeys.md, "Lifecycle"): pause (no new enrollments, no steps; timers
falling due meanwhile run in due order at the resume instant), resume, disable (active
enrollments unenrolled, reason disabled), publishing a new version while enabled, and
re-enabling after disable (`existing` applies whenever a journey is enabled)."""

from __future__ import annotations

from pathlib import Path

from .helpers import T, by, enrollment, enrollments, run

# Accounts in the segment at start: a (gold, waits 3d) and b (silver, waits 2d).
PAUSE = """
start: 2026-01-05T09:00:00Z
until: 10d
data:
  csms: [{id: ann, name: Ann}]
  accounts:
    - {id: a, attributes: {tier: gold}}
    - {id: b, attributes: {tier: silver}}
  segments:
    - {id: all, when: {account.tier: {exists: true}}}
journeys:
  - id: j
    entry: {segments: [all], existing: true}
    start: route
    nodes:
      route:
        split:
          - {when: {account.tier: gold}, next: slow}
          - {else: fast}
      slow: {wait: 3d, next: task}
      fast: {wait: 2d, next: task}
      task: {do: [{create_task: {title: "Follow up {{ account.id }}", assignee: ann, due: 1d}}]}
timeline:
  - {at: 0s, enable: j}
  - {at: 1d, pause: j}
  - {at: 3d, upsert_account: {id: c, attributes: {tier: bronze}}}
  - {at: 5d, resume: j}
  - {at: 6d, upsert_account: {id: d, attributes: {tier: bronze}}}
"""


def test_pause_holds_timers_and_resume_runs_them_in_due_order_at_the_resume_instant(
        tmp_path, database_url):
    # b's wait fell due at 2d and a's at 3d, both while paused: nothing ran then. At the resume
    # (5d) they run in due order — b, then a — at the resume instant: tasks due 5d + 1d.
    # (d, enrolled at 6d after the resume, waits 2d: its task comes at 8d, due 9d.)
    result = run(tmp_path, database_url, PAUSE)
    assert by(result["tasks"], "account", "title", "due") == [
        ("b", "Follow up b", T("6d")), ("a", "Follow up a", T("6d")), ("d", "Follow up d", T("9d"))]
    a, b = enrollment(result, "j", "a"), enrollment(result, "j", "b")
    assert (a["path"], a["status"], a["ended_at"]) == (["route", "slow", "task"], "completed", T("5d"))
    assert (b["path"], b["status"], b["ended_at"]) == (["route", "fast", "task"], "completed", T("5d"))


def test_a_paused_journey_enrolls_nobody_and_enrolls_again_after_resume(tmp_path, database_url):
    """c enters the segment at 3d, while the journey is paused: no enrollment. The spec says a
    paused journey makes "no new enrollments"; its entry is not queued either (resume is not an
    enable, so `existing` does not apply) — decision: c is not enrolled at the resume. d enters
    at 6d, after the resume, and is enrolled."""
    result = run(tmp_path, database_url, PAUSE)
    assert enrollments(result, "j", "c") == []
    d = enrollment(result, "j", "d")
    assert (d["enrolled_at"], d["path"]) == (T("6d"), ["route", "fast", "task"])
    assert d["status"] == "completed" and d["ended_at"] == T("8d")
    assert by(result["enrollments"], "account") == [("a",), ("b",), ("d",)]


def test_a_paused_journey_takes_no_steps_until_resumed(tmp_path, database_url):
    # Still paused at the end of the run: both waits are over but nothing has moved.
    text = PAUSE.replace("  - {at: 5d, resume: j}\n", "").replace("until: 10d", "until: 4d")
    result = run(tmp_path, database_url, text)
    assert result["tasks"] == []
    assert by(result["enrollments"], "account", "status", "path") == [
        ("a", "active", ["route", "slow"]), ("b", "active", ["route", "fast"])]


DISABLE = """
start: 2026-01-05T09:00:00Z
until: 10d
data:
  accounts:
    - {{id: a, attributes: {{tier: gold}}}}
  segments:
    - {{id: all, when: {{account.tier: {{exists: true}}}}}}
journeys:
  - id: j
    entry: {{segments: [all], existing: true, reenroll: {reenroll}}}
    start: w
    nodes:
      w: {{wait: 5d, next: done}}
      done: {{do: [{{set: {{account.done: true}}}}]}}
timeline:
  - {{at: 0s, enable: j}}
  - {{at: 1d, disable: j}}
  - {{at: 2d, upsert_account: {{id: b, attributes: {{tier: gold}}}}}}
{more}
"""


def test_disable_unenrolls_active_enrollments_and_enrolls_nobody(tmp_path, database_url):
    result = run(tmp_path, database_url, DISABLE.format(reenroll="never", more=""))
    a = enrollment(result, "j", "a")
    assert (a["status"], a["reason"], a["ended_at"], a["path"]) == \
        ("unenrolled", "disabled", T("1d"), ["w"])
    assert enrollments(result, "j", "b") == []  # entered at 2d, while disabled
    assert "done" not in result["accounts"]["a"]["attributes"]


def test_re_enabling_applies_existing_again(tmp_path, database_url):
    # Enabled again at 3d with existing: true: the segment's members (a, b) enroll in
    # ascending id order; a may, as reenroll is always.
    result = run(tmp_path, database_url,
                 DISABLE.format(reenroll="always", more="  - {at: 3d, enable: j}"))
    assert by(result["enrollments"], "account", "enrolled_at", "status", "reason", "ended_at") == [
        ("a", T("0s"), "unenrolled", "disabled", T("1d")),
        ("a", T("3d"), "completed", "completed", T("8d")),
        ("b", T("3d"), "completed", "completed", T("8d")),
    ]


def test_re_enabling_respects_reenroll_never(tmp_path, database_url):
    # a already had an enrollment (reenroll never): only b enrolls at the re-enable.
    result = run(tmp_path, database_url,
                 DISABLE.format(reenroll="never", more="  - {at: 3d, enable: j}"))
    assert by(result["enrollments"], "account", "enrolled_at", "status") == [
        ("a", T("0s"), "unenrolled"), ("b", T("3d"), "completed")]


PUBLISH = """
start: 2026-01-05T09:00:00Z
until: 5d
data:
  accounts:
    - {id: a, attributes: {tier: gold}}
  segments:
    - {id: all, when: {account.tier: {exists: true}}}
journeys:
  - id: j
    entry: {segments: [all], existing: true}
    start: w
    nodes:
      w: {wait: 2d, next: v1-step}
      v1-step: {do: [{set: {account.seen: v1}}]}
timeline:
  - {at: 0s, enable: j}
  - at: 1d
    publish:
      id: j
      entry: {segments: [all], existing: true}
      start: w
      nodes:
        w: {wait: 1d, next: v2-step}
        v2-step: {do: [{set: {account.seen: v2}}]}
  - {at: 1d, upsert_account: {id: b, attributes: {tier: gold}}}
"""


def test_publishing_a_new_version_keeps_running_enrollments_on_theirs(tmp_path, database_url):
    # a enrolled on version 1 at start and finishes v1's path at 2d. The new version is
    # published at 1d (the journey stays enabled, and `existing` does not apply on publish);
    # b enters at 1d and takes version 2 (wait 1d → 2d). Both wake at 2d: a's timer was set
    # first, so a's step runs first.
    result = run(tmp_path, database_url, PUBLISH)
    assert by(result["enrollments"], "account", "version", "enrolled_at", "path", "ended_at") == [
        ("a", 1, T("0s"), ["w", "v1-step"], T("2d")),
        ("b", 2, T("1d"), ["w", "v2-step"], T("2d")),
    ]
    assert result["accounts"]["a"]["attributes"]["seen"] == "v1"
    assert result["accounts"]["b"]["attributes"]["seen"] == "v2"


PUBLISH_EXISTING = """
start: 2026-01-05T09:00:00Z
until: 5d
data:
  csms: [{id: ann, name: Ann}, {id: bob, name: Bob}]
  accounts:
    - {id: z, attributes: {tier: gold}}
  segments:
    - {id: all, when: {account.tier: {exists: true}}}
journeys:
  - id: j
    entry: {segments: [all]}
    start: pick
    nodes:
      pick: {do: [{assign_csm: {strategy: round_robin, pool: [ann, bob]}}]}
timeline:
  - {at: 0s, enable: j}
  - {at: 1d, upsert_account: {id: a1, attributes: {tier: gold}}}
  - at: 2d
    publish:
      id: j
      entry: {segments: [all], existing: true}
      start: pick
      nodes:
        pick: {do: [{assign_csm: {strategy: round_robin, pool: [ann, bob]}}, {set: {account.v: 2}}]}
  - {at: 3d, upsert_account: {id: a2, attributes: {tier: gold}}}
"""


def test_existing_does_not_apply_on_publish_and_round_robin_continues_across_versions(
        tmp_path, database_url):
    # z was a member before the journey was enabled (existing false in v1): never enrolled,
    # not even when v2, which says existing: true, is published ("`existing` applies whenever
    # a journey is enabled (not when a new version is published)"). The round-robin cycle is
    # per (journey, node): a1 (v1) gets ann, a2 (v2, same node) gets bob.
    result = run(tmp_path, database_url, PUBLISH_EXISTING)
    assert by(result["enrollments"], "account", "version", "enrolled_at") == [
        ("a1", 1, T("1d")), ("a2", 2, T("3d"))]
    assert (result["accounts"]["a1"]["csm"], result["accounts"]["a2"]["csm"]) == ("ann", "bob")
    assert result["accounts"]["z"]["csm"] is None


PAUSED_TIMEOUT = """
start: 2026-01-05T09:00:00Z
until: 6d
data:
  accounts:
    - {id: a, attributes: {tier: gold}}
  segments:
    - {id: all, when: {account.tier: {exists: true}}}
journeys:
  - id: j
    entry: {segments: [all], existing: true}
    start: listen
    nodes:
      listen:
        wait_for: {events: [email.clicked], scope: account, timeout: 1d}
        next: hot
        on_timeout: cold
      hot: {end: true}
      cold: {do: [{set: {account.cold_at_resume: true}}]}
timeline:
  - {at: 0s, enable: j}
  - {at: 12h, pause: j}
  - {at: 3d, resume: j}
"""


def test_a_timeout_falling_due_while_paused_runs_at_the_resume(tmp_path, database_url):
    result = run(tmp_path, database_url, PAUSED_TIMEOUT)
    e = enrollment(result, "j", "a")
    assert (e["path"], e["status"], e["ended_at"]) == (["listen", "cold"], "completed", T("3d"))


def test_enabling_a_paused_journey_resumes_it(tmp_path: Path, database_url: str) -> None:
    result = run(tmp_path, database_url, """
start: 2026-01-05T09:00:00Z
until: 5d
data:
  accounts: [{id: acme, attributes: {tier: gold}}]
  people: [{id: p1, account: acme, email: p1@acme.test}]
  segments: [{id: gold, when: {account.tier: gold}}]
  templates: [{id: t, subject: T}]
journeys:
  - id: j
    entry: {segments: [gold], existing: true}
    start: pause
    nodes:
      pause: {wait: 1d, next: mail}
      mail: {do: [{send_email: {template: t}}]}
timeline:
  - {at: 0s, enable: j}
  - {at: 12h, pause: j}
  - {at: 2d, enable: j}
""")
    # The wait fell due while paused (day 1); enabling runs it then, as resume would.
    assert [d["at"] for d in result["deliveries"]] == ["2026-01-07T09:00:00Z"]
    assert result["enrollments"][0]["status"] == "completed"
