"""wait_for (spec/journeys.md): continue on `next` when a matching event arrives (scope
`path_people` or `account`) or the condition holds (either, if both are given; a condition that
already holds on arrival continues at once); on `on_timeout` when the timeout passes first."""

from __future__ import annotations

from .helpers import T, enrollment, run

# x1 has two people, added in this order: x1-cto, x1-dev. y1 is another account (not in the
# segment) with a person of its own.
SCENARIO = """
start: 2026-01-05T09:00:00Z
until: 12d
data:
  scoring: {{email.opened: 5}}
  accounts:
    - {{id: x1, attributes: {{name: Xenon, tier: gold, trial_ends: "2026-01-10T15:00:00Z"}}}}
    - {{id: y1, attributes: {{name: Yarrow, tier: silver}}}}
  people:
    - {{id: x1-cto, account: x1, email: cto@xenon.test, attributes: {{title: CTO}}}}
    - {{id: x1-dev, account: x1, email: dev@xenon.test, attributes: {{title: Developer}}}}
    - {{id: y1-cto, account: y1, email: cto@yarrow.test, attributes: {{title: CTO}}}}
  segments:
    - {{id: gold, when: {{account.tier: gold}}}}
journeys:
  - id: listen
    entry: {{segments: [gold], existing: true}}
    start: {start}
    nodes:
{split}
      wait:
        wait_for: {wait_for}
        next: hot
{on_timeout}
      hot: {{do: [{{set: {{account.route: hot}}}}]}}
timeline:
  - {{at: 0s, enable: listen}}
{timeline}
"""

SPLIT = """      ctos:
        split_people:
          - {when: {person.title: CTO}, next: wait}"""
ON_TIMEOUT = """        on_timeout: cold
      cold: {do: [{set: {account.route: cold}}]}"""


def run_wait(tmp_path, database_url, wait_for: str, timeline: str = "", *,
             on_timeout: bool = True, via_split: bool = False):
    result = run(tmp_path, database_url, SCENARIO.format(
        start="ctos" if via_split else "wait", wait_for=wait_for,
        split=SPLIT if via_split else "",
        on_timeout=ON_TIMEOUT if on_timeout else "",
        timeline="\n".join("  " + line for line in timeline.strip("\n").splitlines())))
    return result, enrollment(result, "listen", "x1")


def route(result) -> str | None:
    return result["accounts"]["x1"]["attributes"].get("route")


# -- events ------------------------------------------------------------------------------------

def test_path_people_scope_counts_only_the_path_peoples_events(tmp_path, database_url):
    # The path holds only x1-cto (people split). A click by x1-dev (same account, not on the
    # path) at 1d is ignored; the click by x1-cto at 2d continues on `next` at 2d.
    result, e = run_wait(tmp_path, database_url,
                         "{events: [email.clicked], scope: path_people, timeout: 5d}", """
- {at: 1d, event: {type: email.clicked, person: x1-dev}}
- {at: 2d, event: {type: email.clicked, person: x1-cto}}
""", via_split=True)
    assert e["path"] == ["ctos", "wait", "hot"]
    assert (e["status"], e["ended_at"]) == ("completed", T("2d"))
    assert route(result) == "hot"


def test_an_event_by_someone_at_another_account_is_ignored(tmp_path, database_url):
    # y1-cto clicks (another account): nothing happens; the timeout routes to cold at 3d.
    result, e = run_wait(tmp_path, database_url,
                         "{events: [email.clicked], scope: account, timeout: 3d}", """
- {at: 1d, event: {type: email.clicked, person: y1-cto}}
- {at: 2d, event: {type: email.clicked, account: y1}}
""")
    assert e["path"] == ["wait", "cold"]
    assert (e["status"], e["ended_at"]) == ("completed", T("3d"))
    assert route(result) == "cold"


def test_account_scope_counts_any_person_of_the_account(tmp_path, database_url):
    # Path people are only x1-cto, but scope account: x1-dev's click at 1d continues.
    _result, e = run_wait(tmp_path, database_url,
                         "{events: [email.clicked], scope: account, timeout: 5d}", """
- {at: 1d, event: {type: email.clicked, person: x1-dev}}
""", via_split=True)
    assert e["path"] == ["ctos", "wait", "hot"]
    assert e["ended_at"] == T("1d")


def test_account_scope_counts_an_account_event(tmp_path, database_url):
    _result, e = run_wait(tmp_path, database_url,
                         "{events: [demo.requested], scope: account, timeout: 5d}", """
- {at: 1d, event: {type: email.clicked, account: x1}}
- {at: 2d, event: {type: demo.requested, account: x1}}
""")
    assert (e["path"], e["ended_at"]) == (["wait", "hot"], T("2d"))


def test_where_filters_on_the_event_properties(tmp_path, database_url):
    # The 1d click is on another link; an event without the property does not match either.
    _result, e = run_wait(tmp_path, database_url,
                         "{events: [email.clicked], scope: account, where: {properties.link: pricing},"
                         " timeout: 5d}", """
- {at: 1d, event: {type: email.clicked, person: x1-cto, properties: {link: blog}}}
- {at: 2d, event: {type: email.clicked, person: x1-cto}}
- {at: 3d, event: {type: email.clicked, person: x1-dev, properties: {link: pricing}}}
""")
    assert (e["path"], e["ended_at"]) == (["wait", "hot"], T("3d"))


def test_person_score_changed_events_wake_a_listener(tmp_path, database_url):
    # scoring email.opened: 5 → the open at 1d changes x1-cto's score, which emits
    # person.score_changed for x1-cto, a path person.
    result, e = run_wait(tmp_path, database_url,
                         "{events: [person.score_changed], scope: path_people, timeout: 5d}", """
- {at: 1d, event: {type: email.opened, person: x1-cto}}
""")
    assert (e["path"], e["ended_at"]) == (["wait", "hot"], T("1d"))
    assert result["people"]["x1-cto"]["score"] == 5
    assert result["people"]["x1-dev"]["score"] == 0


# -- conditions ---------------------------------------------------------------------------------

def test_condition_already_holding_on_arrival_continues_at_once(tmp_path, database_url):
    _result, e = run_wait(tmp_path, database_url, "{condition: {account.tier: gold}, timeout: 5d}")
    assert (e["path"], e["status"], e["ended_at"]) == (["wait", "hot"], "completed", T("0s"))


def test_condition_becoming_true_through_data(tmp_path, database_url):
    _result, e = run_wait(tmp_path, database_url, "{condition: {account.stage: sql}, timeout: 5d}", """
- {at: 1d, upsert_account: {id: x1, attributes: {stage: mql}}}
- {at: 2d, upsert_account: {id: x1, attributes: {stage: sql}}}
""")
    assert (e["path"], e["ended_at"]) == (["wait", "hot"], T("2d"))


def test_condition_becoming_true_through_time_at_the_exact_instant(tmp_path, database_url):
    # within_next 2d: now < value ≤ now + 2d. trial_ends = 2026-01-10T15:00Z, so it first holds
    # at 2026-01-08T15:00Z = start + 3d 6h — no input happens then: the engine's scheduled
    # re-evaluation continues the path at that exact instant.
    _result, e = run_wait(tmp_path, database_url,
                         "{condition: {account.trial_ends: {within_next: 2d}}, timeout: 10d}")
    assert (e["path"], e["ended_at"]) == (["wait", "hot"], "2026-01-08T15:00:00Z")
    assert e["ended_at"] == T("3d", "6h")


def test_events_or_condition_whichever_comes_first(tmp_path, database_url):
    # Both given: the event at 2d comes before the condition (stage sql at 4d).
    _result, e = run_wait(tmp_path, database_url,
                         "{events: [demo.requested], scope: account, condition: {account.stage: sql},"
                         " timeout: 5d}", """
- {at: 2d, event: {type: demo.requested, person: x1-dev}}
- {at: 4d, upsert_account: {id: x1, attributes: {stage: sql}}}
""")
    assert (e["path"], e["ended_at"]) == (["wait", "hot"], T("2d"))


def test_condition_or_events_condition_first(tmp_path, database_url):
    _result, e = run_wait(tmp_path, database_url,
                         "{events: [demo.requested], scope: account, condition: {account.stage: sql},"
                         " timeout: 5d}", """
- {at: 1d, upsert_account: {id: x1, attributes: {stage: sql}}}
- {at: 2d, event: {type: demo.requested, person: x1-dev}}
""")
    assert (e["path"], e["ended_at"]) == (["wait", "hot"], T("1d"))


# -- timeout ------------------------------------------------------------------------------------

def test_timeout_goes_to_on_timeout_at_exactly_the_timeout(tmp_path, database_url):
    result, e = run_wait(tmp_path, database_url, "{events: [email.clicked], timeout: 3d}")
    assert (e["path"], e["status"], e["ended_at"]) == (["wait", "cold"], "completed", T("3d"))
    assert route(result) == "cold"


def test_timeout_without_on_timeout_ends_the_path(tmp_path, database_url):
    result, e = run_wait(tmp_path, database_url, "{events: [email.clicked], timeout: 2d}",
                         on_timeout=False)
    assert (e["path"], e["status"], e["ended_at"]) == (["wait"], "completed", T("2d"))
    assert route(result) is None


def test_an_event_after_the_timeout_does_nothing(tmp_path, database_url):
    result, e = run_wait(tmp_path, database_url, "{events: [email.clicked], timeout: 2d}", """
- {at: 3d, event: {type: email.clicked, person: x1-cto}}
""")
    assert (e["path"], e["ended_at"]) == (["wait", "cold"], T("2d"))
    assert route(result) == "cold"


def test_without_timeout_the_listener_waits_to_the_end(tmp_path, database_url):
    _result, e = run_wait(tmp_path, database_url, "{events: [email.clicked]}", on_timeout=False)
    assert (e["path"], e["status"], e["ended_at"]) == (["wait"], "active", None)
