"""Segments and time (spec/journeys.md "Conditions", spec/scenarios.md): memberships that flip
by the passing of time at the exact instant, in_segment, people counts, performed (with where,
windows, late events, duplicate ids), upserts, delete_person."""

from __future__ import annotations

from .helpers import T, by, enrollment, run

# One journey on one segment; with on_segment_exit so that leaving the segment shows too.
BASE = """
start: 2026-01-05T09:00:00Z
until: {until}
data:
  scoring: {{feature.used: 10}}
  accounts:
{accounts}
  people:
    - {{id: p1, account: acme, email: p1@acme.test, attributes: {{title: CEO}}}}
  segments:
{segments}
journeys:
  - id: j
    entry: {{segments: [{entry}], existing: {existing}}}
    exit: {{on_segment_exit: true}}
    start: w
    nodes:
      w: {{wait: 30d}}
timeline:
  - {{at: 0s, enable: j}}
{timeline}
"""


def run_segment(tmp_path, database_url, *, accounts: str, segments: str, entry: str,
                timeline: str = "", existing: bool = False, until: str = "20d"):
    def indent(text: str, by: int) -> str:
        return "\n".join(" " * by + line for line in text.strip("\n").splitlines())

    return run(tmp_path, database_url, BASE.format(
        until=until, accounts=indent(accounts, 4), segments=indent(segments, 4), entry=entry,
        existing="true" if existing else "false", timeline=indent(timeline, 2) if timeline else ""))


def span(result, account: str = "acme"):
    e = enrollment(result, "j", account)
    return (e["enrolled_at"], e["status"], e["reason"], e["ended_at"])


# -- time-based flips -----------------------------------------------------------------------------------

def test_within_next_enrolls_at_exactly_renewal_date_minus_the_window(tmp_path, database_url):
    # within_next 90d: now < value ≤ now + 90d. renewal 2026-04-15T17:30Z − 90d
    # = 2026-01-15T17:30Z (2026: Jan 31 − 15 + Feb 28 + Mar 31 + 15 = 90 days).
    result = run_segment(tmp_path, database_url,
                         accounts='- {id: acme, attributes: {renewal_date: "2026-04-15T17:30:00Z"}}',
                         segments="- {id: renewal-soon, when: {account.renewal_date: {within_next: 90d}}}",
                         entry="renewal-soon")
    assert span(result) == ("2026-01-15T17:30:00Z", "active", None, None)
    assert result["accounts"]["acme"]["segments"] == ["renewal-soon"]


def test_within_last_member_leaves_exactly_when_the_value_is_window_old(tmp_path, database_url):
    # within_last 7d: now − 7d < value ≤ now. signed_at 2026-01-01T09:00Z (a member at start,
    # enrolled by `existing`) stops holding at signed_at + 7d = 2026-01-08T09:00Z.
    result = run_segment(tmp_path, database_url,
                         accounts='- {id: acme, attributes: {signed_at: "2026-01-01T09:00:00Z"}}',
                         segments="- {id: recent, when: {account.signed_at: {within_last: 7d}}}",
                         entry="recent", existing=True)
    assert span(result) == (T("0s"), "unenrolled", "segment_exit", "2026-01-08T09:00:00Z")
    assert result["accounts"]["acme"]["segments"] == []


def test_older_than_on_created_at(tmp_path, database_url):
    # older_than 30d: value ≤ now − 30d; created 2025-12-20T12:00Z → from 2026-01-19T12:00Z.
    result = run_segment(tmp_path, database_url,
                         accounts="- {id: acme, created_at: '2025-12-20T12:00:00Z'}",
                         segments="- {id: mature, when: {account.created_at: {older_than: 30d}}}",
                         entry="mature")
    assert span(result) == ("2026-01-19T12:00:00Z", "active", None, None)


def test_performed_within_last_leaves_when_the_oldest_counted_event_leaves_the_window(
        tmp_path, database_url):
    # Two uses within 7d: events at 1d and 3d → enters at 3d. The 1d event leaves the window
    # at 1d + 7d = 8d (now − 7d < at fails), the count drops to 1 → leaves at 8d.
    result = run_segment(tmp_path, database_url,
                         accounts="- {id: acme}",
                         segments="- {id: active, when: {performed: {event: feature.used, within_last: 7d,"
                                  " count: {gte: 2}}}}",
                         entry="active", timeline="""
- {at: 1d, event: {type: feature.used, person: p1}}
- {at: 3d, event: {type: feature.used, account: acme}}
""")
    assert span(result) == (T("3d"), "unenrolled", "segment_exit", T("8d"))


# -- membership by data -----------------------------------------------------------------------------------

def test_in_segment_and_a_new_account_entering_at_the_upsert_instant(tmp_path, database_url):
    # gold-ca needs membership of gold. acme becomes gold at 1d → enters both. beta is new at
    # 2d, gold but in NY → gold only. gamma is new at 3d, gold in CA → enters at 3d.
    result = run_segment(tmp_path, database_url,
                         accounts="- {id: acme, attributes: {state: CA, tier: silver}}",
                         segments="""
- {id: gold, when: {account.tier: gold}}
- {id: gold-ca, when: {in_segment: gold, account.state: CA}}
""", entry="gold-ca", timeline="""
- {at: 1d, upsert_account: {id: acme, attributes: {tier: gold}}}
- {at: 2d, upsert_account: {id: beta, attributes: {state: NY, tier: gold}}}
- {at: 3d, upsert_account: {id: gamma, attributes: {state: CA, tier: gold}}}
""")
    assert by(result["enrollments"], "account", "enrolled_at") == [("acme", T("1d")), ("gamma", T("3d"))]
    segments = {a: result["accounts"][a]["segments"] for a in ("acme", "beta", "gamma")}
    assert segments == {"acme": ["gold", "gold-ca"], "beta": ["gold"], "gamma": ["gold", "gold-ca"]}
    assert result["accounts"]["gamma"]["attributes"] == {"state": "CA", "tier": "gold"}


def test_people_count(tmp_path, database_url):
    # Two C-level people needed: p1 (CEO) from data; p2 (CFO) is added at 2d → enters at 2d.
    # p3 (Developer, 1d) does not count.
    result = run_segment(tmp_path, database_url,
                         accounts="- {id: acme}",
                         segments="- {id: execs, when: {people: {match: {person.title: {starts_with: C}},"
                                  " count: {gte: 2}}}}",
                         entry="execs", timeline="""
- {at: 1d, upsert_person: {id: p3, account: acme, attributes: {title: Developer}}}
- {at: 2d, upsert_person: {id: p2, account: acme, email: p2@acme.test, attributes: {title: CFO}}}
""")
    assert span(result) == (T("2d"), "active", None, None)
    assert set(result["people"]) == {"p1", "p2", "p3"}


def test_performed_with_where(tmp_path, database_url):
    result = run_segment(tmp_path, database_url,
                         accounts="- {id: acme}",
                         segments="- {id: reporters, when: {performed: {event: feature.used,"
                                  " where: {properties.feature: reports}}}}",
                         entry="reporters", timeline="""
- {at: 1d, event: {type: feature.used, person: p1, properties: {feature: dashboards}}}
- {at: 2d, event: {type: feature.used, person: p1}}
- {at: 3d, event: {type: feature.used, person: p1, properties: {feature: reports}}}
""")
    assert span(result) == (T("3d"), "active", None, None)


def test_late_events_count_by_their_at_and_trigger_on_arrival(tmp_path, database_url):
    # within_last 3d. At 5d an event that happened at 1d arrives: outside (2d, 5d] → nothing.
    # At 6d an event that happened at 4d arrives: inside (3d, 6d] → enters at 6d (arrival),
    # and leaves when it leaves the window: 4d + 3d = 7d.
    result = run_segment(tmp_path, database_url,
                         accounts="- {id: acme}",
                         segments="- {id: recent, when: {performed: {event: feature.used, within_last: 3d}}}",
                         entry="recent", timeline=f"""
- {{at: 5d, event: {{type: feature.used, person: p1, at: "{T('1d')}"}}}}
- {{at: 6d, event: {{type: feature.used, person: p1, at: "{T('4d')}"}}}}
""")
    assert span(result) == (T("6d"), "unenrolled", "segment_exit", T("7d"))


def test_a_duplicate_event_id_is_ignored(tmp_path, database_url):
    # e1 arrives twice (1d, and again at 2d with other properties): counted and scored once
    # (feature.used scores 10). e2 at 3d makes the second use → enters at 3d.
    result = run_segment(tmp_path, database_url,
                         accounts="- {id: acme}",
                         segments="- {id: twice, when: {performed: {event: feature.used, count: {gte: 2}}}}",
                         entry="twice", timeline="""
- {at: 1d, event: {id: e1, type: feature.used, person: p1}}
- {at: 2d, event: {id: e1, type: feature.used, person: p1, properties: {again: true}}}
- {at: 3d, event: {id: e2, type: feature.used, person: p1}}
""")
    assert span(result) == (T("3d"), "active", None, None)
    assert result["people"]["p1"]["score"] == 20


def test_an_upsert_that_changes_nothing_is_no_entry(tmp_path, database_url):
    # acme leaves `gold` at 1d (unenrolled) and the later upserts repeat the value it already
    # has: no re-entry, no new enrollment, nothing changes.
    result = run_segment(tmp_path, database_url,
                         accounts="- {id: acme, attributes: {tier: gold}}",
                         segments="- {id: gold, when: {account.tier: gold}}",
                         entry="gold", existing=True, timeline="""
- {at: 1d, upsert_account: {id: acme, attributes: {tier: silver}}}
- {at: 2d, upsert_account: {id: acme, attributes: {tier: silver}}}
- {at: 3d, upsert_person: {id: p1, account: acme, email: p1@acme.test, attributes: {title: CEO}}}
""")
    assert span(result) == (T("0s"), "unenrolled", "segment_exit", T("1d"))
    assert len(result["enrollments"]) == 1


DELETE = """
start: 2026-01-05T09:00:00Z
until: 5d
data:
  role_templates:
    - id: duo
      roles: [{name: Decision Maker, weight: vital}, {name: Analyst, weight: normal}]
  accounts:
    - {id: acme}
  people:
    - {id: p1, account: acme, email: p1@acme.test, score: 50, attributes: {title: CEO}}
    - {id: p2, account: acme, email: p2@acme.test, score: 20, attributes: {title: Analyst}}
  buying_groups:
    - account: acme
      solution: Widgets
      template: duo
      members: [{person: p1, role: Decision Maker}, {person: p2, role: Analyst}]
  segments:
    - {id: has-ceo, when: {people: {match: {person.title: CEO}}}}
journeys:
  - id: j
    entry: {segments: [has-ceo], existing: true}
    exit: {on_segment_exit: true}
    start: w
    nodes: {w: {wait: 4d}}
timeline:
  - {at: 0s, enable: j}
  - {at: 2d, delete_person: p1}
"""


def test_delete_person_updates_people_groups_scores_and_segments(tmp_path, database_url):
    # Shares: Decision Maker 100/160, Analyst 60/160.
    # Before: 50 × 100/160 + 20 × 60/160 = 31.25 + 7.5 = 38.75, completeness 100.
    # After deleting p1 at 2d: 7.5, completeness 50; acme has no CEO → leaves has-ceo.
    result = run(tmp_path, database_url, DELETE)
    assert list(result["people"]) == ["p2"]
    [group] = result["buying_groups"]
    assert group["members"] == [{"person": "p2", "role": "Analyst"}]
    assert (group["engagement_score"], group["completeness_score"]) == (7.5, 50)
    e = enrollment(result, "j", "acme")
    assert (e["status"], e["reason"], e["ended_at"]) == ("unenrolled", "segment_exit", T("2d"))
    assert result["accounts"]["acme"]["segments"] == []


def test_events_without_id_are_each_counted(tmp_path, database_url):
    # "without `id` it gets one that is unique to that timeline entry": two identical events
    # at two entries are two events → count 2 at 2d.
    result = run_segment(tmp_path, database_url,
                         accounts="- {id: acme}",
                         segments="- {id: twice, when: {performed: {event: feature.used, count: {gte: 2}}}}",
                         entry="twice", timeline="""
- {at: 1d, event: {type: feature.used, person: p1}}
- {at: 2d, event: {type: feature.used, person: p1}}
""")
    assert span(result) == (T("2d"), "active", None, None)
    assert result["people"]["p1"]["score"] == 20


def test_an_event_of_a_person_counts_once_the_person_belongs_to_the_account(tmp_path, database_url):
    """An event "of the account or of its people" counts for the account. p9 is unknown when
    its event arrives at 1d (kept, counted for no account); when p9 joins acme at 2d, its
    event is one of acme's people's events → acme enters at 2d. (Spec reading; the spec does
    not describe events of unknown people explicitly.)"""
    result = run_segment(tmp_path, database_url,
                         accounts="- {id: acme}",
                         segments="- {id: users, when: {performed: {event: feature.used}}}",
                         entry="users", timeline="""
- {at: 1d, event: {type: feature.used, person: p9}}
- {at: 2d, upsert_person: {id: p9, account: acme, email: p9@acme.test}}
""")
    assert span(result) == (T("2d"), "active", None, None)
