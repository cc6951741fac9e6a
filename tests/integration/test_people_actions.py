"""People actions (spec/journeys.md, "Actions"): send_email (targets, skips with reasons,
personalised subjects), add_to_buying_group, change_score, add_to_campaign; buying group scores
(spec "Scores")."""

from __future__ import annotations

from .helpers import T, by, enrollment, run

# Acme's people in the order they were added: ceo, cfo (unsubscribed), dev (no email), an.
# Buying group Widgets (enterprise: Decision Maker vital 100, Product SME important 80,
# Product Analyst normal 60 → shares 100/240, 80/240, 60/240).
BASE = """
start: 2026-01-05T09:00:00Z
until: 10d
data:
  csms: [{{id: ann, name: Ann Lee, email: ann@vendor.test}}]
  role_templates:
{role_templates}
  templates:
    - id: hello
      subject: >-
        {{{{ person.title }}}} at {{{{ account.name }}}}: {{{{ buying_group.role }}}} / {{{{ csm.name }}}}
      text: "Hi {{{{ person.attributes.title }}}}"
  accounts:
    - {{id: acme, csm: ann, attributes: {{name: Acme, tier: gold}}}}
  people:
    - {{id: ceo, account: acme, email: ceo@acme.test, score: 30, attributes: {{title: CEO}}}}
    - {{id: cfo, account: acme, email: cfo@acme.test, score: 50, unsubscribed: true,
       attributes: {{title: CFO}}}}
    - {{id: dev, account: acme, score: 120, attributes: {{title: Developer}}}}
    - {{id: an, account: acme, email: an@acme.test, score: 60, attributes: {{title: Analyst}}}}
  buying_groups:
    - account: acme
      solution: Widgets
      template: enterprise
      members:
        - {{person: ceo, role: Decision Maker}}
        - {{person: an, role: Product Analyst}}
        - {{person: cfo, role: Decision Maker}}
  segments:
    - {{id: gold, when: {{account.tier: gold}}}}
journeys:
  - id: j
    entry: {{segments: [gold], existing: true}}
    start: {start}
    nodes:
{nodes}
{more_journeys}
timeline:
  - {{at: 0s, enable: j}}
{timeline}
"""

ENTERPRISE = """\
    - id: enterprise
      roles:
        - {name: Decision Maker, weight: vital}
        - {name: Product SME, weight: important}
        - {name: Product Analyst, weight: normal}"""
SMALL_FIRST = """\
    - id: small
      roles: [{name: Decision Maker, weight: vital}]
""" + ENTERPRISE


def run_nodes(tmp_path, database_url, nodes: str, start: str = "act", *,
              role_templates: str = ENTERPRISE, more_journeys: str = "", timeline: str = ""):
    def indent(text: str, by: int) -> str:
        return "\n".join(" " * by + line for line in text.strip("\n").splitlines())

    return run(tmp_path, database_url, BASE.format(
        start=start, nodes=indent(nodes, 6), role_templates=role_templates,
        more_journeys=indent(more_journeys, 2) if more_journeys else "",
        timeline=indent(timeline, 2) if timeline else ""))


def sent(result):
    return by(result["deliveries"], "person", "to", "template", "subject", "at", "status")


def skipped(result):
    return by(result["skipped"], "channel", "person", "node", "reason", "at")


EXECS_SPLIT = """
act:
  split_people:
    - {when: {person.title: {in: [CEO, CFO]}}, next: mail}
"""


# -- send_email -----------------------------------------------------------------------------------

def test_send_email_goes_to_the_path_people_by_default(tmp_path, database_url):
    # Path people after the split: ceo, cfo. ceo gets the email, its subject rendered with
    # person, account, buying group role and CSM; cfo is unsubscribed: skipped, with reason.
    result = run_nodes(tmp_path, database_url, EXECS_SPLIT + """
mail: {do: [{send_email: {template: hello}}]}
""")
    assert sent(result) == [("ceo", "ceo@acme.test", "hello", "CEO at Acme: Decision Maker / Ann Lee",
                             T("0s"), "sent")]
    assert by(result["deliveries"], "channel", "journey", "node", "account") == [
        ("email", "j", "mail", "acme")]
    assert skipped(result) == [("email", "cfo", "mail", "unsubscribed", T("0s"))]


def test_send_email_to_all_and_the_skip_reasons(tmp_path, database_url):
    # `to: all` is every person of the account, even those not on the path, in account order:
    # ceo sent, cfo unsubscribed, dev has no email, an sent (a Product Analyst).
    result = run_nodes(tmp_path, database_url, EXECS_SPLIT + """
mail: {do: [{send_email: {template: hello, to: all}}]}
""")
    assert sent(result) == [
        ("ceo", "ceo@acme.test", "hello", "CEO at Acme: Decision Maker / Ann Lee", T("0s"), "sent"),
        ("an", "an@acme.test", "hello", "Analyst at Acme: Product Analyst / Ann Lee", T("0s"), "sent")]
    assert skipped(result) == [("email", "cfo", "mail", "unsubscribed", T("0s")),
                               ("email", "dev", "mail", "no_email", T("0s"))]


def test_send_email_to_a_role(tmp_path, database_url):
    # Path people: cfo, dev, an (not the CEO). Decision Makers among them: cfo (skipped,
    # unsubscribed) — the CEO holds the role but is not on the path. Product Analysts: an.
    result = run_nodes(tmp_path, database_url, """
act:
  split_people:
    - {when: {person.title: {ne: CEO}}, next: mail}
mail:
  do:
    - send_email: {template: hello, to: {role: Decision Maker}}
    - send_email: {template: hello, to: {role: Product Analyst}}
""")
    assert by(result["deliveries"], "person") == [("an",)]
    assert skipped(result) == [("email", "cfo", "mail", "unsubscribed", T("0s"))]


def test_send_email_to_the_path_people_matching_a_condition(tmp_path, database_url):
    # Path people: everyone; the condition keeps ceo and cfo (titles starting with C).
    result = run_nodes(tmp_path, database_url, """
act: {do: [{send_email: {template: hello, to: {person.title: {starts_with: C}}}}]}
""")
    assert by(result["deliveries"], "person") == [("ceo",)]
    assert skipped(result) == [("email", "cfo", "act", "unsubscribed", T("0s"))]


# -- buying groups ------------------------------------------------------------------------------------

def test_add_to_buying_group_creates_the_group_and_updates_an_existing_one(tmp_path, database_url):
    # Gadgets is new: template enterprise, ceo (score 30) as Decision Maker:
    #   engagement 30 × 100/240 = 12.5; completeness 1 of 3 roles = 33.33.
    # Widgets before: DM mean(30, 50) = 40, SME none 0, Analyst an 60:
    #   40 × 100/240 + 60 × 60/240 = 31.67; completeness 2/3 = 66.67.
    # dev (score 120 → min 100) joins Widgets as Product SME:
    #   40 × 100/240 + 100 × 80/240 + 60 × 60/240 = 16.67 + 33.33 + 15 = 65; completeness 100.
    result = run_nodes(tmp_path, database_url, """
act:
  do:
    - add_to_buying_group:
        {solution: Gadgets, role: Decision Maker, template: enterprise, to: {person.title: CEO}}
    - add_to_buying_group: {solution: Widgets, role: Product SME, to: {person.title: Developer}}
""")
    groups = {g["solution"]: g for g in result["buying_groups"]}
    assert (groups["Gadgets"]["engagement_score"], groups["Gadgets"]["completeness_score"]) == \
        (12.5, 33.33)
    assert groups["Gadgets"]["members"] == [{"person": "ceo", "role": "Decision Maker"}]
    assert (groups["Gadgets"]["account"], groups["Gadgets"]["status"]) == ("acme", None)
    assert (groups["Widgets"]["engagement_score"], groups["Widgets"]["completeness_score"]) == (65, 100)
    assert groups["Widgets"]["members"] == [
        {"person": "ceo", "role": "Decision Maker"}, {"person": "an", "role": "Product Analyst"},
        {"person": "cfo", "role": "Decision Maker"}, {"person": "dev", "role": "Product SME"}]
    # Widgets existed first; Gadgets was created by the journey.
    assert [g["solution"] for g in result["buying_groups"]] == ["Widgets", "Gadgets"]


def test_widgets_scores_from_data_are_computed_before_the_run(tmp_path, database_url):
    # No action on the group: 31.67 and 66.67 as computed above.
    result = run_nodes(tmp_path, database_url, """
act: {do: [{set: {account.seen: true}}]}
""")
    [group] = result["buying_groups"]
    assert (group["engagement_score"], group["completeness_score"]) == (31.67, 66.67)


def test_add_to_buying_group_without_template_uses_the_workspace_first_role_template(
        tmp_path, database_url):
    # The first role template is `small` (only Decision Maker, vital): ceo (30) as DM gives
    # engagement 30 and completeness 100 (with enterprise it would be 12.5 and 33.33).
    result = run_nodes(tmp_path, database_url, """
act:
  do:
    - add_to_buying_group: {solution: Gizmos, role: Decision Maker, to: {person.title: CEO}}
""", role_templates=SMALL_FIRST)
    groups = {g["solution"]: g for g in result["buying_groups"]}
    assert (groups["Gizmos"]["engagement_score"], groups["Gizmos"]["completeness_score"]) == (30, 100)


# -- scores ---------------------------------------------------------------------------------------

SCORER = """
- id: scorer
  entry: {event: {type: demo.requested}}
  start: bump
  nodes:
    bump:
      split_people:
        - {when: {person.title: {in: [CEO, CFO]}}, next: score}
    score: {do: [{change_score: {by: 10}}]}
"""


def test_change_score_changes_scores_emits_score_changed_and_rescores_groups(tmp_path, database_url):
    # j listens for person.score_changed on the account. At 2d the scorer journey adds 10 to
    # its path people (ceo 30 → 40, cfo 50 → 60): j wakes at 2d.
    # Widgets: DM mean(40, 60) = 50 → 50 × 100/240 + 60 × 60/240 = 20.83 + 15 = 35.83.
    result = run_nodes(tmp_path, database_url, """
act:
  wait_for: {events: [person.score_changed], scope: account, timeout: 5d}
  next: heard
heard: {do: [{set: {account.heard: true}}]}
""", more_journeys=SCORER, timeline="""
- {at: 0s, enable: scorer}
- {at: 2d, event: {type: demo.requested, account: acme}}
""")
    people = result["people"]
    assert {p: people[p]["score"] for p in ("ceo", "cfo", "dev", "an")} == \
        {"ceo": 40, "cfo": 60, "dev": 120, "an": 60}
    e = enrollment(result, "j", "acme")
    assert (e["path"], e["ended_at"]) == (["act", "heard"], T("2d"))
    assert enrollment(result, "scorer", "acme")["path"] == ["bump", "score"]
    [group] = result["buying_groups"]
    assert group["engagement_score"] == 35.83


def test_scoring_rules_change_person_scores(tmp_path, database_url):
    scenario = BASE.replace("  templates:", "  scoring: {{email.clicked: 10, email.opened: 2}}\n  templates:")
    text = scenario.format(start="act", role_templates=ENTERPRISE, more_journeys="",
                           nodes="      act: {do: [{set: {account.seen: true}}]}", timeline="""
  - {at: 1d, event: {type: email.opened, person: an}}
  - {at: 1d, event: {type: email.clicked, person: an}}
  - {at: 2d, event: {type: email.clicked, person: dev}}""")
    result = run(tmp_path, database_url, text)
    # an: 60 + 2 + 10 = 72; dev: 120 + 10 = 130; Widgets: 40 × 100/240 + 72 × 60/240 = 34.67.
    assert (result["people"]["an"]["score"], result["people"]["dev"]["score"]) == (72, 130)
    assert result["buying_groups"][0]["engagement_score"] == 34.67


# -- campaigns ----------------------------------------------------------------------------------------

def test_add_to_campaign_records_each_target_person(tmp_path, database_url):
    result = run_nodes(tmp_path, database_url, """
act: {wait: 1d, next: join}
join:
  do:
    - add_to_campaign: {campaign: roadshow}
    - add_to_campaign: {campaign: analyst-day, to: {role: Product Analyst}}
""")
    assert by(result["campaigns"], "campaign", "person", "at") == [
        ("roadshow", "ceo", T("1d")), ("roadshow", "cfo", T("1d")), ("roadshow", "dev", T("1d")),
        ("roadshow", "an", T("1d")), ("analyst-day", "an", T("1d"))]


def test_path_people_are_the_people_at_enrollment(tmp_path, database_url):
    # new-p joins acme at 1d, after the enrollment: not a path person (the default target),
    # but part of `to: all`, after the people added before.
    scenario = BASE.format(start="act", role_templates=ENTERPRISE, more_journeys="", nodes="""\
      act: {wait: 2d, next: join}
      join:
        do:
          - add_to_campaign: {campaign: path}
          - add_to_campaign: {campaign: everyone, to: all}""", timeline="""\
  - {at: 1d, upsert_person: {id: new-p, account: acme, email: new@acme.test, attributes: {title: CMO}}}""")
    result = run(tmp_path, database_url, scenario)
    assert by(result["campaigns"], "campaign", "person") == [
        ("path", "ceo"), ("path", "cfo"), ("path", "dev"), ("path", "an"),
        ("everyone", "ceo"), ("everyone", "cfo"), ("everyone", "dev"), ("everyone", "an"),
        ("everyone", "new-p")]


def test_a_buying_group_member_added_by_the_timeline_rescores_and_wakes_a_listener(
        tmp_path, database_url):
    # Widgets is at 31.67 (see above). At 2d dev (score 120 → 100) joins as Product SME:
    # 16.67 + 33.33 + 15 = 65 > 50 → the listener continues at 2d.
    result = run_nodes(tmp_path, database_url, """
act:
  wait_for:
    condition: {buying_group: {solution: Widgets, match: {engagement_score: {gt: 50}}}}
    timeout: 5d
  next: engaged
  on_timeout: quiet
engaged: {do: [{set_buying_group_status: {solution: Widgets, status: Engaged}}]}
quiet: {end: true}
""", timeline="""
- {at: 1d, add_to_buying_group: {account: acme, solution: Widgets, person: an, role: Product Analyst}}
- {at: 2d, add_to_buying_group: {account: acme, solution: Widgets, person: dev, role: Product SME}}
""")
    e = enrollment(result, "j", "acme")
    assert (e["path"], e["ended_at"]) == (["act", "engaged"], T("2d"))
    [group] = result["buying_groups"]
    assert (group["status"], group["engagement_score"], group["completeness_score"]) == \
        ("Engaged", 65, 100)
