"""Journey validation: every kind of problem, with its exact place and the offending value."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from conformance import CASES
from itinera.definitions import WorkspaceData, read_document, validate_journey, validate_scenario

WORKSPACE = WorkspaceData.model_validate({
    "csms": [{"id": "ann"}, {"id": "bob"}],
    "playbooks": ["renewal"],
    "campaigns": ["roadshow"],
    "role_templates": [
        {"id": "enterprise", "roles": [{"name": "Decision Maker"}, {"name": "Analyst"}]},
        {"id": "smb", "roles": [{"name": "Owner"}]},
    ],
    "segments": [{"id": "new", "when": {"account.stage": "new"}}],
    "templates": [{"id": "welcome", "subject": "Hi {{ account.name }}"}],
})


def journey(nodes: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    """A valid journey (start `a`), with the given nodes and top-level keys replaced."""
    raw: dict[str, Any] = {"id": "j", "entry": {"segments": ["new"]}, "start": "a",
                           "nodes": nodes or {"a": {"end": True}}}
    raw.update(top)
    return raw


def action(item: dict[str, Any]) -> dict[str, Any]:
    return journey({"a": {"do": [item]}})


def problems(raw: Any, workspace: WorkspaceData | None = WORKSPACE,
             journeys: list[str] | None = None, place: str = "") -> list[str]:
    result, found = validate_journey(raw, place, workspace, journeys)
    assert (result is None) == bool(found)
    return [str(p) for p in found]


def test_a_valid_journey_has_no_problems() -> None:
    raw = journey({
        "a": {"do": [{"assign_csm": {"strategy": "round_robin", "pool": ["ann", "bob"]}},
                     {"send_email": {"template": "welcome", "to": {"role": "Analyst"}}}],
              "next": "w"},
        "w": {"wait_for": {"events": ["email.clicked"], "timeout": "3d"}, "next": "s",
              "on_timeout": "s"},
        "s": {"split": [{"when": {"account.x": 1}, "next": "a"}, {"else": "end"}]},
        "end": {"end": True},
    }, goal={"when": {"account.csm": {"exists": True}}})
    journey_model, found = validate_journey(raw, "", WORKSPACE)
    assert found == []
    assert journey_model is not None and journey_model.nodes["s"].split is not None


# --- the graph ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("node", "place"), [
    ({"do": [], "next": "dne"}, "nodes.a.next"),
    ({"wait_for": {"events": ["x"], "timeout": "1d"}, "on_timeout": "dne"}, "nodes.a.on_timeout"),
    ({"split": [{"when": {"account.x": 1}, "next": "dne"}]}, "nodes.a.split[0].next"),
    ({"split": [{"else": "dne"}]}, "nodes.a.split[0].else"),
    ({"split_people": [{"else": "dne"}]}, "nodes.a.split_people[0].else"),
    ({"experiment": {"name": "e", "variants": [{"name": "v", "weight": 1, "next": "dne"}]}},
     "nodes.a.experiment.variants[0].next"),
], ids=["next", "on_timeout", "branch-next", "else", "people-else", "variant-next"])
def test_dangling_targets(node: dict[str, Any], place: str) -> None:
    assert f"{place}: no node 'dne'" in problems(journey({"a": node}))


def test_start_naming_no_node() -> None:
    assert problems(journey(start="begin")) == ["start: no node 'begin'"]


def test_unreachable_node_is_reported_and_still_validated() -> None:
    found = problems(journey({"a": {"end": True},
                              "orphan": {"do": [{"send_email": {"template": "nope"}}]}}))
    assert "nodes.orphan: unreachable from start 'a'" in found
    assert "nodes.orphan.do[0].send_email.template: no template 'nope'" in found


def test_cycle_without_a_wait() -> None:
    found = problems(journey({"a": {"do": [], "next": "b"}, "b": {"do": [], "next": "a"}}))
    assert found == ["nodes.a: cycle with no wait node (wait, wait_until or wait_for) on it: "
                     "a -> b -> a"]


def test_cycle_through_a_wait_is_fine_and_a_side_loop_is_not() -> None:
    assert problems(journey({"a": {"do": [], "next": "w"}, "w": {"wait": "1d", "next": "a"}})) == []
    found = problems(journey({"a": {"split": [{"when": {"account.x": 1}, "next": "w"},
                                              {"else": "b"}]},
                              "w": {"wait": "1d", "next": "a"}, "b": {"do": [], "next": "a"}}))
    assert len(found) == 1 and "a -> b -> a" in found[0]


def test_broken_node_still_leads_to_its_successors() -> None:
    found = problems(journey({"a": {"wait": "3 days", "next": "b"}, "b": {"end": True}}))
    assert found == ["nodes.a.wait: bad duration '3 days': write an integer and a unit "
                     "(30s, 15m, 2h, 3d, 1w)"]


# --- entry, goal, exit -------------------------------------------------------------------------

def test_entry_needs_segments_or_event() -> None:
    assert "entry: an entry needs 'segments', 'event' or both" in problems(journey(entry={}))
    assert problems(journey(entry={"event": {"type": "trial.started"}})) == []


def test_unknown_segment_in_entry() -> None:
    assert problems(journey(entry={"segments": ["new", "gone"]})) == [
        "entry.segments[1]: no segment 'gone'"]


def test_unknown_segment_in_a_condition() -> None:
    found = problems(journey(goal={"when": {"in_segment": "gone"}}))
    assert found == ["goal.when.in_segment: no segment 'gone'"]


@pytest.mark.parametrize(("raw", "place"), [
    (journey(goal={"when": {"person.title": "CEO"}}), "goal.when.person.title"),
    (journey(exit={"when": {"properties.x": 1}}), "exit.when.properties.x"),
    (journey({"a": {"split": [{"when": {"person.title": "CEO"}}]}}),
     "nodes.a.split[0].when.person.title"),
    (journey({"a": {"wait_for": {"condition": {"person.x": 1}}}}),
     "nodes.a.wait_for.condition.person.x"),
    (journey({"a": {"split_people": [{"when": {"properties.x": 1}}]}}),
     "nodes.a.split_people[0].when.properties.x"),
    (action({"send_email": {"template": "welcome", "to": {"properties.x": 1}}}),
     "nodes.a.do[0].send_email.to.properties.x"),
    (journey(entry={"event": {"type": "t", "where": {"account.x": 1}}}),
     "entry.event.where.account.x"),
    (journey({"a": {"wait_for": {"events": ["e"], "where": {"person.x": 1}}}}),
     "nodes.a.wait_for.where.person.x"),
], ids=["goal", "exit", "split", "wait_for-condition", "split_people", "to", "entry-where",
        "wait_for-where"])
def test_conditions_are_read_in_their_scope(raw: dict[str, Any], place: str) -> None:
    found = problems(raw)
    assert len(found) == 1 and found[0].startswith(f"{place}: unknown condition key ")


def test_conditions_in_the_right_scope_are_fine() -> None:
    assert problems(journey(
        {"a": {"split_people": [{"when": {"person.title": "CEO", "account.x": 1}, "next": "b"}]},
         "b": {"wait_for": {"events": ["e"], "where": {"properties.x": 1}}}},
        entry={"event": {"type": "t", "where": {"properties.plan": "pro"}}},
    )) == []


def test_unknown_journey_in_unenroll_from() -> None:
    raw = journey(exit={"unenroll_from": ["other", "gone", "*"]})
    assert problems(raw, journeys=["j", "other"]) == ["exit.unenroll_from[1]: no journey 'gone'"]
    assert problems(raw) == []  # not checked without the list of journeys


# --- nodes -------------------------------------------------------------------------------------

def test_wait_until_date_must_be_an_account_attribute() -> None:
    found = problems(journey({"a": {"wait_until": {"date": "renewal_date"}}}))
    assert found == ["nodes.a.wait_until.date: expected 'account.<attribute>', got 'renewal_date'"]


def test_wait_until_at_must_be_an_instant() -> None:
    found = problems(journey({"a": {"wait_until": {"at": "next monday"}}}))
    assert found == ["nodes.a.wait_until.at: bad date 'next monday': write ISO-8601, "
                     "e.g. 2026-03-01T09:00:00Z"]


@pytest.mark.parametrize(("raw", "place"), [
    (action({"create_task": {"title": "t", "due": "2 days"}}), "nodes.a.do[0].create_task.due"),
    (journey(entry={"segments": ["new"], "reenroll": {"after": "2 days"}}),
     "entry.reenroll.after"),
    (journey({"a": {"wait": "2 days"}}), "nodes.a.wait"),
    (journey({"a": {"wait_for": {"events": ["e"], "timeout": "2 days"}}}),
     "nodes.a.wait_for.timeout"),
    (journey({"a": {"wait_until": {"date": "account.d", "offset": "2 days"}}}),
     "nodes.a.wait_until.offset"),
    (journey(goal={"when": {"performed": {"event": "e", "within_last": "2 days"}}}),
     "goal.when.performed.within_last"),
], ids=["due", "reenroll-after", "wait", "timeout", "offset", "within_last"])
def test_bad_durations(raw: dict[str, Any], place: str) -> None:
    found = problems(raw)
    assert len(found) == 1 and found[0].startswith(f"{place}: bad duration '2 days'")


def test_negative_wait() -> None:
    assert problems(journey({"a": {"wait": "-1d"}})) == [
        "nodes.a.wait: wait takes a duration that is not negative, got '-1d'"]


def test_experiment_variant_names_are_unique() -> None:
    raw = journey({"a": {"experiment": {"name": "e", "variants": [
        {"name": "x", "weight": 1, "next": "b"}, {"name": "x", "weight": 1, "next": "b"}]}},
        "b": {"end": True}})
    assert problems(raw) == ["nodes.a.experiment.variants[1].name: duplicate variant 'x'"]


# A control arm that waits as long as the treatment, then joins its path to the goal check.
CONTROL_ARM = {
    "exp": {"experiment": {"name": "offer", "variants": [
        {"name": "discount", "weight": 1, "next": "send"},
        {"name": "control", "weight": 1, "next": "hold"}]}},
    "send": {"do": [{"send_email": {"template": "welcome"}}], "next": "hold"},
    "hold": {"wait": "7d", "next": "done"},
    "done": {"end": True},
}
GOAL = {"when": {"account.csm": {"exists": True}}}


def test_a_variant_without_next_is_refused_with_its_place_and_how_to_build_a_control() -> None:
    nodes = copy.deepcopy(CONTROL_ARM)
    del nodes["exp"]["experiment"]["variants"][1]["next"]
    (found,) = problems(journey(nodes, start="exp", goal=GOAL), place="journeys[0]")
    assert found.startswith("journeys[0].nodes.exp.experiment.variants[1].next: variant "
                            "'control' has no 'next': the enrollment would end as soon as it "
                            "is drawn; an arm that ends there can never reach the goal")
    assert "point 'next' at the node where the other variants' paths go on" in found
    # Without a goal the arm still ends at once: refused too (the spec writes every variant
    # with a next; a holdout that ends says so with an end node).
    assert problems(journey(nodes, start="exp"))[0].startswith(
        "nodes.exp.experiment.variants[1].next: variant 'control' has no 'next'")


def test_a_variant_straight_to_an_end_node_is_refused_when_the_journey_has_a_goal() -> None:
    nodes = copy.deepcopy(CONTROL_ARM)
    nodes["exp"]["experiment"]["variants"][1]["next"] = "done"
    (found,) = problems(journey(nodes, start="exp", goal=GOAL))
    assert found.startswith("nodes.exp.experiment.variants[1].next: variant 'control' goes to "
                            "the end node 'done', which ends the enrollment as soon as the "
                            "variant is drawn; an arm that ends there can never reach the goal")
    # Without a goal there is no conversion to compare: a holdout that ends is accepted.
    assert problems(journey(nodes, start="exp")) == []


def test_a_control_arm_that_joins_the_treated_path_is_accepted() -> None:
    assert problems(journey(copy.deepcopy(CONTROL_ARM), start="exp", goal=GOAL)) == []


def test_empty_node_unknown_kind_and_not_a_mapping() -> None:
    found = problems(journey({"a": {"do": [], "next": "b"}, "b": {}, "c": {"sleep": "1d"},
                              "d": "wait"}))
    assert "nodes.b: a node has exactly one kind (do, split, split_people, merge, wait, " \
           "wait_until, wait_for, experiment, end); found none" in found
    assert any(p.startswith("nodes.c.sleep: unknown node kind 'sleep'") for p in found)
    assert any(p.startswith("nodes.d: a node is a mapping") and "'wait'" in p for p in found)


def test_next_on_a_node_that_does_not_use_it() -> None:
    found = problems(journey({"a": {"end": True, "next": "a"}}))
    assert found == ["nodes.a.next: an end node has no 'next' (its path ends there), got 'a'"]


def test_shape_places_use_aliases_and_plain_messages() -> None:
    found = problems(journey({"a": {"split": [{"else": 5}], "colour": "red"}}))
    assert "nodes.a.split[0].else: Input should be a valid string, got 5" in found
    assert "nodes.a.colour: unknown key 'colour'" in found
    found = problems(journey(entry={"segments": ["new"], "reenroll": "sometimes"}))
    assert found == ["entry.reenroll: expected never, always or {after: <duration>}, "
                     "got 'sometimes'"]
    assert problems(journey(id="Bad Id"))[0].startswith("id: bad id 'Bad Id'")


# --- actions -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("item", "expected"), [
    ({"send_email": {"template": "nope"}},
     "nodes.a.do[0].send_email.template: no template 'nope'"),
    ({"assign_csm": {"strategy": "round_robin", "pool": ["ann", "zed"]}},
     "nodes.a.do[0].assign_csm.pool[1]: no CSM 'zed'"),
    ({"assign_csm": {"strategy": "fixed", "csm": "zed"}},
     "nodes.a.do[0].assign_csm.csm: no CSM 'zed'"),
    ({"create_task": {"title": "t", "assignee": "zed"}},
     "nodes.a.do[0].create_task.assignee: no CSM 'zed'"),
    ({"assign_playbook": "rescue"}, "nodes.a.do[0].assign_playbook: no playbook 'rescue'"),
    ({"add_to_buying_group": {"solution": "X", "role": "Owner", "template": "nope"}},
     "nodes.a.do[0].add_to_buying_group.template: no role template 'nope'"),
    ({"add_to_buying_group": {"solution": "X", "role": "Owner", "template": "enterprise"}},
     "nodes.a.do[0].add_to_buying_group.role: no role 'Owner' in role template 'enterprise'"),
    ({"add_to_buying_group": {"solution": "X", "role": "Boss"}},
     "nodes.a.do[0].add_to_buying_group.role: no role 'Boss' in any role template"),
    ({"send_email": {"template": "welcome", "to": {"role": "Boss"}}},
     "nodes.a.do[0].send_email.to.role: no role 'Boss' in any role template"),
    ({"add_to_campaign": {"campaign": "gala"}},
     "nodes.a.do[0].add_to_campaign.campaign: no campaign 'gala'"),
], ids=["template", "pool-csm", "fixed-csm", "assignee", "playbook", "role-template",
        "role-in-template", "role-anywhere", "to-role", "campaign"])
def test_unknown_workspace_references(item: dict[str, Any], expected: str) -> None:
    assert problems(action(item)) == [expected]
    assert problems(action(item), workspace=None) == []  # no workspace: not checked


def test_assignee_csm_means_the_accounts_csm() -> None:
    item = {"create_task": {"title": "Call", "assignee": "csm", "due": "2d"}}
    assert problems(action(item)) == []


@pytest.mark.parametrize(("item", "expected"), [
    ({"assign_csm": {"strategy": "random", "pool": ["ann"]}},
     "nodes.a.do[0].assign_csm.strategy: unknown strategy 'random' "
     "(use round_robin, least_loaded, fixed)"),
    ({"assign_csm": {"strategy": "least_loaded"}},
     "nodes.a.do[0].assign_csm: strategy least_loaded needs a non-empty 'pool' of CSMs"),
    ({"assign_csm": {"strategy": "fixed"}}, "nodes.a.do[0].assign_csm: strategy fixed needs 'csm'"),
    ({"create_task": {"assignee": "csm"}}, "nodes.a.do[0].create_task: needs 'title'"),
    ({"send_email": {"to": "all"}}, "nodes.a.do[0].send_email: needs 'template'"),
    ({"add_to_buying_group": {"role": "Owner"}},
     "nodes.a.do[0].add_to_buying_group: needs 'solution'"),
    ({"add_to_buying_group": {"solution": "X"}}, "nodes.a.do[0].add_to_buying_group: needs 'role'"),
    ({"change_score": {"by": "ten"}},
     "nodes.a.do[0].change_score.by: expected a number, got 'ten'"),
    ({"add_to_campaign": {"to": "all"}}, "nodes.a.do[0].add_to_campaign: needs 'campaign'"),
    ({"webhook": {"method": "POST"}}, "nodes.a.do[0].webhook: needs 'url'"),
    ({"send_email": {"template": "welcome", "to": "everyone"}},
     "nodes.a.do[0].send_email.to: expected path_people, all, {role: <role>} or a condition on "
     "person.*, got 'everyone'"),
    ({"send_email": {"template": "welcome", "tempalte": "x"}},
     "nodes.a.do[0].send_email.tempalte: unknown key 'tempalte' (known: template, to)"),
    ({"set": {"plan": "pro"}}, "nodes.a.do[0].set.plan: expected 'account.<name>', got 'plan'"),
    ({"increase": {"visits": 1}},
     "nodes.a.do[0].increase.visits: expected 'account.<name>', got 'visits'"),
    ({"increase": {"account.visits": "1"}},
     "nodes.a.do[0].increase.account.visits: increase takes a number, got '1'"),
    ({"copy": {"from": "account.a", "to": "b"}},
     "nodes.a.do[0].copy.to: expected 'account.<name>', got 'b'"),
    ({"copy": {"from": "account.a"}}, "nodes.a.do[0].copy: needs 'to'"),
    ({"clear": ["account.a", "b"]}, "nodes.a.do[0].clear[1]: expected 'account.<name>', got 'b'"),
    ({"send_sms": {"to": "all"}},
     "nodes.a.do[0].send_sms: unknown action 'send_sms' (known: add_moment, add_to_buying_group, "
     "add_to_campaign, assign_csm, assign_playbook, change_score, clear, copy, create_task, "
     "increase, send_email, set, set_buying_group_status, webhook)"),
], ids=["strategy", "pool", "fixed-csm", "title", "template", "solution", "role", "by",
        "campaign", "url", "to", "unknown-argument", "set-key", "increase-key", "increase-value",
        "copy-to", "copy-missing", "clear", "unknown-action"])
def test_action_argument_shapes(item: dict[str, Any], expected: str) -> None:
    assert problems(action(item)) == [expected]


def test_template_syntax_in_action_text() -> None:
    found = problems(action({"create_task": {"title": "Call {{ account.name"}}))
    assert len(found) == 1
    assert found[0].startswith("nodes.a.do[0].create_task.title: template syntax error in "
                               "'Call {{ account.name'")



def test_templates_that_would_break_the_sandbox_limits_are_refused_with_their_place() -> None:
    found = problems(action({"webhook": {"url": "https://hooks.test/x", "body": {
        "v": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "w": ["ok {{ account.name }}", "{{ 'x'|center(999999999) }}"]}}}))
    assert found == [
        "nodes.a.do[0].webhook.body.v: loops would run 10000000000 times, over the template "
        "limit of 200000 steps (line 1)",
        "nodes.a.do[0].webhook.body.w[1]: center would make 999999999 characters or items, "
        "over the template limit of 100000 (line 1)"]


# --- all at once -------------------------------------------------------------------------------

def test_every_problem_of_a_broken_journey_is_reported_at_once() -> None:
    raw = read_document(CASES / "08-invalid-journey.yaml")
    scenario, found = validate_scenario(raw, CASES)
    assert scenario is None
    text = "\n".join(str(p) for p in found)
    for expected in read_document(CASES / "08-invalid-journey.expect.yaml")["stderr_contains"]:
        assert expected in text
    assert [str(p) for p in found] == [
        "journeys[0].entry.segments[0]: no segment 'no-such-segment'",
        "journeys[0].nodes.fine.wait: bad duration '3 days': write an integer and a unit "
        "(30s, 15m, 2h, 3d, 1w)",
        "journeys[0].nodes.orphan.do[0].send_email.template: no template 'no-such-template'",
        "journeys[0].nodes.check.split[0].next: no node 'dne'",
        "journeys[0].nodes.orphan: unreachable from start 'check'",
    ]


def test_place_prefix_and_input_left_untouched() -> None:
    raw = journey(start="nowhere")
    before = copy.deepcopy(raw)
    assert problems(raw, place="journeys[3]") == ["journeys[3].start: no node 'nowhere'"]
    assert raw == before


def test_each_node_is_shape_checked_on_its_own() -> None:
    found = problems(journey({"a": {"wait": "soon", "next": "b"},
                              "b": {"split": [{"next": "c"}]},
                              "c": {"do": [{"send_sms": {}}], "next": "d"},
                              "d": {"end": True}}))
    assert [p.split(":")[0] for p in found] == [
        "nodes.a.wait", "nodes.b.split[0]", "nodes.c.do[0].send_sms"]


def test_a_journey_needs_nodes() -> None:
    raw = journey()
    raw["nodes"] = {}
    assert problems(raw) == [
        "nodes: needs at least 1 item, got none", "start: no node 'a'"]


def test_datetimes_from_a_plain_yaml_parser_are_accepted() -> None:
    import yaml

    raw = yaml.safe_load("id: j\nentry: {segments: [new]}\nstart: a\n"
                         "nodes: {a: {wait_until: {at: 2026-03-01T09:00:00Z}}}\n")
    journey_model, found = validate_journey(raw, "", WORKSPACE)
    assert found == [] and journey_model is not None
    assert journey_model.nodes["a"].wait_until is not None
    assert journey_model.nodes["a"].wait_until.at == "2026-03-01T09:00:00Z"
