"""split_people and merge (spec/journeys.md): people go to the first branch they match, each
non-empty branch runs in list order until it waits, ends or reaches a merge; a merge waits for
every still-running branch forked upstream and continues once with the union of their people,
in the order the people were added to the account. Campaign memberships (`add_to_campaign`)
show which people each node acted on, and when."""

from __future__ import annotations

from .helpers import T, by, enrollment, run

# Acme's people in the order they were added: ceo, dev, an, cfo.
SCENARIO = """
start: 2026-01-05T09:00:00Z
until: 10d
data:
  accounts:
    - {{id: acme, attributes: {{name: Acme, tier: gold}}}}
  people:
    - {{id: ceo, account: acme, email: ceo@acme.test, attributes: {{title: CEO}}}}
    - {{id: dev, account: acme, email: dev@acme.test, attributes: {{title: Developer}}}}
    - {{id: an, account: acme, email: an@acme.test, attributes: {{title: Analyst}}}}
    - {{id: cfo, account: acme, email: cfo@acme.test, attributes: {{title: CFO}}}}
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

EXECS = "{person.title: {in: [CEO, CFO]}}"


def run_nodes(tmp_path, database_url, nodes: str, start: str = "who"):
    body = "\n".join("      " + line for line in nodes.strip("\n").splitlines())
    return run(tmp_path, database_url, SCENARIO.format(start=start, nodes=body))


def campaign(name: str, next_node: str | None = None) -> str:
    tail = f", next: {next_node}" if next_node else ""
    return f"{{do: [{{add_to_campaign: {{campaign: {name}}}}}]{tail}}}"


def members(result, *names: str) -> list[tuple[str, str, str]]:
    """(campaign, person, at) in the order they happened, for the campaigns named."""
    return [(c["campaign"], c["person"], c["at"]) for c in result["campaigns"]
            if not names or c["campaign"] in names]


# -- split_people --------------------------------------------------------------------------

def test_people_go_to_the_first_branch_they_match_and_else_takes_the_rest(tmp_path, database_url):
    # ceo and cfo match both branch 0 and branch 1: they go to branch 0; branch 1 is then
    # empty and not taken; an → analysts; dev matches nothing → else.
    result = run_nodes(tmp_path, database_url, f"""
who:
  split_people:
    - {{when: {EXECS}, next: execs}}
    - {{when: {{person.title: {{starts_with: C}}}}, next: c-level}}
    - {{when: {{person.title: Analyst}}, next: analysts}}
    - {{else: rest}}
execs: {campaign("execs")}
c-level: {campaign("c-level")}
analysts: {campaign("analysts")}
rest: {campaign("rest")}
""")
    e = enrollment(result, "j", "acme")
    assert e["path"] == ["who", "execs", "analysts", "rest"]
    assert members(result) == [("execs", "ceo", T("0s")), ("execs", "cfo", T("0s")),
                               ("analysts", "an", T("0s")), ("rest", "dev", T("0s"))]
    assert (e["status"], e["ended_at"]) == ("completed", T("0s"))


def test_people_matching_no_branch_without_else_are_dropped(tmp_path, database_url):
    result = run_nodes(tmp_path, database_url, f"""
who:
  split_people:
    - {{when: {EXECS}, next: execs}}
execs: {campaign("execs", "everyone-left")}
everyone-left: {campaign("left")}
""")
    assert enrollment(result, "j", "acme")["path"] == ["who", "execs", "everyone-left"]
    assert by(result["campaigns"], "campaign", "person") == [
        ("execs", "ceo"), ("execs", "cfo"), ("left", "ceo"), ("left", "cfo")]


def test_a_people_split_nobody_matches_ends_the_path(tmp_path, database_url):
    result = run_nodes(tmp_path, database_url, f"""
who:
  split_people:
    - {{when: {{person.title: Intern}}, next: interns}}
interns: {campaign("interns")}
""")
    e = enrollment(result, "j", "acme")
    assert (e["path"], e["status"], e["ended_at"]) == (["who"], "completed", T("0s"))
    assert result["campaigns"] == []


def test_branches_run_in_list_order_each_until_it_waits(tmp_path, database_url):
    # Branch 0 (the developer, the account's 2nd person) is listed first: it runs first and
    # waits 1d; then branch 1 runs to its end; the wait is over at 1d and branch 0 goes on.
    # path lists nodes in the order they were entered.
    result = run_nodes(tmp_path, database_url, f"""
who:
  split_people:
    - {{when: {{person.title: Developer}}, next: tech-wait}}
    - {{else: biz}}
tech-wait: {{wait: 1d, next: tech}}
tech: {campaign("tech")}
biz: {campaign("biz", "biz-more")}
biz-more: {campaign("biz-more")}
""")
    e = enrollment(result, "j", "acme")
    assert e["path"] == ["who", "tech-wait", "biz", "biz-more", "tech"]
    assert members(result) == [
        ("biz", "ceo", T("0s")), ("biz", "an", T("0s")), ("biz", "cfo", T("0s")),
        ("biz-more", "ceo", T("0s")), ("biz-more", "an", T("0s")), ("biz-more", "cfo", T("0s")),
        ("tech", "dev", T("1d"))]
    assert (e["status"], e["ended_at"]) == ("completed", T("1d"))


def test_each_branch_runs_until_it_ends_before_the_next_branch(tmp_path, database_url):
    result = run_nodes(tmp_path, database_url, f"""
who:
  split_people:
    - {{when: {EXECS}, next: e1}}
    - {{else: o1}}
e1: {campaign("e1", "e2")}
e2: {campaign("e2")}
o1: {campaign("o1", "o2")}
o2: {campaign("o2")}
""")
    assert enrollment(result, "j", "acme")["path"] == ["who", "e1", "e2", "o1", "o2"]
    assert [c for c, _, _ in members(result)] == ["e1", "e1", "e2", "e2", "o1", "o1", "o2", "o2"]


# -- merge ---------------------------------------------------------------------------------

def test_merge_waits_for_a_sibling_that_waits_on_a_timer(tmp_path, database_url):
    # The execs branch reaches the merge at once; the others wait 2d first. The merge
    # continues once, at 2d, with everyone, in account order (ceo, dev, an, cfo).
    result = run_nodes(tmp_path, database_url, f"""
who:
  split_people:
    - {{when: {EXECS}, next: fast}}
    - {{else: slow}}
fast: {campaign("fast", "m")}
slow: {{wait: 2d, next: slow-do}}
slow-do: {campaign("slow", "m")}
m: {{merge: {{}}, next: after}}
after: {campaign("after")}
""")
    e = enrollment(result, "j", "acme")
    assert e["path"] == ["who", "fast", "slow", "slow-do", "m", "after"]
    assert members(result, "after") == [("after", p, T("2d")) for p in ("ceo", "dev", "an", "cfo")]
    assert (e["status"], e["ended_at"]) == ("completed", T("2d"))


def test_merge_is_still_waiting_while_a_sibling_waits(tmp_path, database_url):
    scenario = SCENARIO.replace("until: 10d", "until: 1d")
    nodes = f"""
who:
  split_people:
    - {{when: {EXECS}, next: fast}}
    - {{else: slow}}
fast: {campaign("fast", "m")}
slow: {{wait: 2d, next: m}}
m: {{merge: {{}}, next: after}}
after: {campaign("after")}
"""
    body = "\n".join("      " + line for line in nodes.strip("\n").splitlines())
    result = run(tmp_path, database_url, scenario.format(start="who", nodes=body))
    e = enrollment(result, "j", "acme")
    # The merge is listed once, when it continues — not yet.
    assert (e["path"], e["status"]) == (["who", "fast", "slow"], "active")
    assert members(result, "after") == []


def test_merge_does_not_wait_for_a_sibling_that_ended(tmp_path, database_url):
    # The else branch ends at `gone`; the merge continues with the execs only.
    result = run_nodes(tmp_path, database_url, f"""
who:
  split_people:
    - {{when: {EXECS}, next: e1}}
    - {{else: gone}}
e1: {campaign("e1", "m")}
gone: {{end: true}}
m: {{merge: {{}}, next: after}}
after: {campaign("after")}
""")
    e = enrollment(result, "j", "acme")
    assert e["path"] == ["who", "e1", "gone", "m", "after"]
    assert members(result, "after") == [("after", "ceo", T("0s")), ("after", "cfo", T("0s"))]


def test_merge_continues_when_a_waiting_sibling_ends_later(tmp_path, database_url):
    # The else branch waits 1d and then ends (a wait without next): the merge, which the
    # execs reached at start, continues at 1d with the execs.
    result = run_nodes(tmp_path, database_url, f"""
who:
  split_people:
    - {{when: {EXECS}, next: e1}}
    - {{else: linger}}
e1: {campaign("e1", "m")}
linger: {{wait: 1d}}
m: {{merge: {{}}, next: after}}
after: {campaign("after")}
""")
    e = enrollment(result, "j", "acme")
    assert e["path"] == ["who", "e1", "linger", "m", "after"]
    assert members(result, "after") == [("after", "ceo", T("1d")), ("after", "cfo", T("1d"))]
    assert e["ended_at"] == T("1d")


def test_merge_unites_people_in_account_order_not_arrival_order(tmp_path, database_url):
    # dev and an (tech) arrive first, then ceo and cfo; afterwards the path people are
    # acted on in the order they were added: ceo, dev, an, cfo.
    result = run_nodes(tmp_path, database_url, f"""
who:
  split_people:
    - {{when: {{person.title: {{in: [Developer, Analyst]}}}}, next: tech}}
    - {{else: biz}}
tech: {campaign("tech", "m")}
biz: {campaign("biz", "m")}
m: {{merge: {{}}, next: after}}
after: {campaign("after")}
""")
    assert enrollment(result, "j", "acme")["path"] == ["who", "tech", "biz", "m", "after"]
    assert by(result["campaigns"], "campaign", "person") == [
        ("tech", "dev"), ("tech", "an"), ("biz", "ceo"), ("biz", "cfo"),
        ("after", "ceo"), ("after", "dev"), ("after", "an"), ("after", "cfo")]


def test_account_split_branches_simply_converge_on_a_merge(tmp_path, database_url):
    result = run_nodes(tmp_path, database_url, f"""
check:
  split:
    - {{when: {{account.tier: gold}}, next: gold}}
    - {{else: other}}
gold: {campaign("gold", "m")}
other: {campaign("other", "m")}
m: {{merge: {{}}, next: after}}
after: {campaign("after")}
""", start="check")
    e = enrollment(result, "j", "acme")
    assert e["path"] == ["check", "gold", "m", "after"]
    assert [p for c, p, _ in members(result, "after")] == ["ceo", "dev", "an", "cfo"]
    assert e["status"] == "completed"


def test_nested_people_splits_with_their_own_merges(tmp_path, database_url):
    # outer: execs → inner split (ceo → x, cfo → y) → inner merge → outer merge;
    #        others → z → outer merge. Each merge continues once.
    result = run_nodes(tmp_path, database_url, f"""
who:
  split_people:
    - {{when: {EXECS}, next: inner}}
    - {{else: z}}
inner:
  split_people:
    - {{when: {{person.title: CEO}}, next: x}}
    - {{else: y}}
x: {campaign("x", "inner-m")}
y: {campaign("y", "inner-m")}
inner-m: {{merge: {{}}, next: execs-done}}
execs-done: {campaign("execs-done", "outer-m")}
z: {campaign("z", "outer-m")}
outer-m: {{merge: {{}}, next: after}}
after: {campaign("after")}
""")
    e = enrollment(result, "j", "acme")
    assert e["path"] == ["who", "inner", "x", "y", "inner-m", "execs-done", "z", "outer-m", "after"]
    assert by(result["campaigns"], "campaign", "person") == [
        ("x", "ceo"), ("y", "cfo"), ("execs-done", "ceo"), ("execs-done", "cfo"),
        ("z", "dev"), ("z", "an"),
        ("after", "ceo"), ("after", "dev"), ("after", "an"), ("after", "cfo")]


def test_nested_people_splits_converging_on_one_merge(tmp_path, database_url):
    """Every branch of both splits leads to the same merge. "waits until every still-running
    branch forked upstream has arrived": the inner branches arriving is not enough — the
    outer split's other branch (z) is upstream too, so the merge continues once, with all."""
    result = run_nodes(tmp_path, database_url, f"""
who:
  split_people:
    - {{when: {EXECS}, next: inner}}
    - {{else: z}}
inner:
  split_people:
    - {{when: {{person.title: CEO}}, next: x}}
    - {{else: y}}
x: {campaign("x", "m")}
y: {campaign("y", "m")}
z: {{wait: 1d, next: z-do}}
z-do: {campaign("z", "m")}
m: {{merge: {{}}, next: after}}
after: {campaign("after")}
""")
    e = enrollment(result, "j", "acme")
    assert e["path"] == ["who", "inner", "x", "y", "z", "z-do", "m", "after"]
    assert members(result, "after") == [("after", p, T("1d")) for p in ("ceo", "dev", "an", "cfo")]
    assert (e["status"], e["ended_at"]) == ("completed", T("1d"))
