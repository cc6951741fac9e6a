"""The journey graph's layout: every node placed once without overlaps, downward edges going
down, loops routed around the side, merges below their branches, no crossings where none are
needed, labels between the ranks they label, the same picture every time; and the rules said
in words."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml

from itinera.conditions.parse import Scope
from itinera.web.graph import ENTRY, NODE_HEIGHT, GraphEdge, GraphNode, Layout, layout
from itinera.web.journey_map import journey_graph
from itinera.web.words import describe, entry_brief, entry_words, exit_words, goal_words

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BODEA = yaml.safe_load((EXAMPLES / "ajo-bodea-product-x.journey.yaml").read_text())

# A nurture loop: listen; on timeout nudge and listen again, up to the loop's own exit.
LOOP: dict[str, Any] = {
    "id": "nurture", "entry": {"event": {"type": "trial.started"}}, "start": "intro",
    "nodes": {
        "intro": {"do": [{"send_email": {"template": "intro"}}], "next": "listen"},
        "listen": {"wait_for": {"events": ["email.clicked"], "timeout": "7d"},
                   "next": "won", "on_timeout": "count"},
        "count": {"split": [{"when": {"account.nudges": {"gte": 3}}, "next": "lost"},
                            {"else": "nudge"}]},
        "nudge": {"do": [{"increase": {"account.nudges": 1}}], "next": "listen"},
        "won": {"end": True},
        "lost": {"end": True},
    },
}


def _layout(definition: dict[str, Any]) -> Layout:
    nodes, edges = journey_graph(definition, "who enters")
    return layout(nodes, edges)


def _crosses(a: tuple[tuple[float, float], tuple[float, float]],
             b: tuple[tuple[float, float], tuple[float, float]]) -> bool:
    """Whether two straight segments cross at a point inside both (touching ends do not)."""
    def side(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
    d1, d2 = side(b[0], b[1], a[0]), side(b[0], b[1], a[1])
    d3, d4 = side(a[0], a[1], b[0]), side(a[0], a[1], b[1])
    return d1 * d2 < 0 and d3 * d4 < 0


@pytest.mark.parametrize("definition", [BODEA, LOOP], ids=["bodea", "loop"])
def test_every_node_is_placed_once_without_overlaps(definition: dict[str, Any]) -> None:
    placed = _layout(definition)
    assert sorted(p.node.id for p in placed.nodes) == sorted([ENTRY, *definition["nodes"]])
    for a, b in itertools.combinations(placed.nodes, 2):
        apart = (a.x + a.width <= b.x or b.x + b.width <= a.x
                 or a.y + a.height <= b.y or b.y + b.height <= a.y)
        assert apart, f"{a.node.id} overlaps {b.node.id}"
    for p in placed.nodes:
        assert p.x >= 0 and p.y >= 0
        assert p.x + p.width <= placed.width and p.y + p.height <= placed.height


def test_downward_edges_go_down_from_bottom_to_top_and_merges_sit_below_their_branches() -> None:
    placed = _layout(BODEA)
    for routed in placed.edges:
        assert not routed.back
        source, target = placed.node(routed.edge.source), placed.node(routed.edge.target)
        assert target.rank > source.rank
        ys = [y for _, y in routed.points]
        assert ys == sorted(ys) and len(set(ys)) == len(ys), routed.edge
        assert ys[0] == source.y + source.height and ys[-1] == target.y
        assert source.x <= routed.points[0][0] <= source.x + source.width
        assert target.x <= routed.points[-1][0] <= target.x + target.width
    merge = placed.node("tracks-merge")
    for source in ("ca-merge", "ny-decision-makers"):
        assert placed.node(source).rank < merge.rank
    # mark-engaged is reached from listen and from listen-again, two ranks apart: below both.
    assert placed.node("mark-engaged").rank == placed.node("listen-again").rank + 1


def test_a_planar_journey_is_drawn_without_crossings() -> None:
    placed = _layout(BODEA)
    segments = [(r.edge, list(itertools.pairwise(r.points))) for r in placed.edges]
    for (e1, s1), (e2, s2) in itertools.combinations(segments, 2):
        for a, b in itertools.product(s1, s2):
            assert not _crosses(a, b), f"{e1} crosses {e2}"


def test_loops_are_routed_around_the_right_side_back_up() -> None:
    placed = _layout(LOOP)
    back = [r for r in placed.edges if r.back]
    assert [(r.edge.source, r.edge.target) for r in back] == [("nudge", "listen")]
    loop = back[0]
    right = max(p.x + p.width for p in placed.nodes)
    (x0, y0), (lane_x, _), (_, y2), (x3, y3) = loop.points
    assert lane_x > right  # the lane is clear of every node
    assert y2 < y0  # it goes back up
    assert x0 == placed.node("nudge").x + placed.node("nudge").width
    assert x3 == placed.node("listen").x + placed.node("listen").width
    assert placed.node("listen").y <= y3 <= placed.node("listen").y + NODE_HEIGHT
    assert placed.width >= lane_x
    # every other edge goes down
    assert all(not r.back for r in placed.edges if r is not loop)


def test_branches_are_labelled_between_their_ranks() -> None:
    placed = _layout(BODEA)
    labels = {(r.edge.source, r.edge.target): r for r in placed.edges if r.label}
    assert labels[("by-state", "ca-roles")].label == "state is CA"
    assert labels[("by-state", "ny-decision-makers")].label == "state is NY"
    assert labels[("ca-roles", "ca-dm-email")].edge.label == "title is one of CEO, CFO, CTO, CIO or COO"
    assert labels[("ca-roles", "ca-dm-email")].label == "title is one of CEO, CF…"  # shortened
    assert labels[("listen", "nudge")].label == "after 14d"
    assert labels[("listen", "mark-engaged")].label == "heard"
    for routed in labels.values():
        assert routed.label_at is not None
        source, target = placed.node(routed.edge.source), placed.node(routed.edge.target)
        assert source.y + source.height < routed.label_at[1] < source.y + source.height + 76
        assert routed.label_at[1] < target.y or target.rank > source.rank + 1
    loop = _layout(LOOP)
    texts = {(r.edge.source, r.edge.target): r.label for r in loop.edges}
    assert texts[("count", "nudge")] == "otherwise"
    assert texts[("count", "lost")] == "nudges is at least 3"


def test_the_layout_is_the_same_every_time() -> None:
    assert _layout(BODEA) == _layout(BODEA)
    assert _layout(LOOP) == _layout(LOOP)


def test_barycentre_ordering_untangles_what_the_first_order_crosses() -> None:
    # Reached first from a, the third rank starts as c, d, e: two crossings (a-d and a-e
    # with b-c). c is also b's child and d only a's: by the mean position of their parents,
    # d goes left of c, and one crossing remains (no order of c, d, e has none).
    nodes = [GraphNode(i, "do", i, "") for i in (ENTRY, "a", "b", "c", "d", "e")]
    edges = [GraphEdge(ENTRY, "a"), GraphEdge(ENTRY, "b"), GraphEdge("a", "c"),
             GraphEdge("a", "d"), GraphEdge("b", "c"), GraphEdge("b", "e"), GraphEdge("a", "e")]
    placed = layout(nodes, edges)
    segments = [list(itertools.pairwise(r.points)) for r in placed.edges]
    crossings = sum(1 for s1, s2 in itertools.combinations(segments, 2)
                    for a, b in itertools.product(s1, s2) if _crosses(a, b))
    assert crossings == 1
    assert placed.node("a").x < placed.node("b").x
    assert placed.node("d").x < placed.node("c").x < placed.node("e").x


def test_parallel_edges_are_drawn_once_with_both_labels() -> None:
    definition = {"id": "j", "entry": {"segments": ["s"]}, "start": "pick", "nodes": {
        "pick": {"split": [{"when": {"account.tier": "gold"}, "next": "done"},
                           {"else": "done"}]},
        "done": {"end": True}}}
    placed = _layout(definition)
    edges = [r for r in placed.edges if r.edge.source == "pick"]
    assert len(edges) == 1
    assert edges[0].edge.label == "tier is gold / otherwise"


def test_rules_in_words() -> None:
    assert describe({"account.state": "CA"}) == "account state is CA"
    assert describe({"account.size": {"in": ["Large", "Huge"]}, "account.csm": {"exists": True}}) \
        == "account size is one of Large or Huge and account CSM is set"
    assert describe({"any": [{"account.arr": {"gt": 1000}}, {"not": {"in_segment": "churned"}}]}) \
        == "account arr is over 1000 or not in segment churned"
    assert describe({"account.renewal_date": {"within_next": "90d"}}) \
        == "account renewal date is within the next 90 days"
    assert describe({"people": {"match": {"person.title": "CEO"}, "count": {"gte": 2}}}) \
        == "at least 2 people whose title is CEO"
    assert describe({"performed": {"event": "login", "within_last": "14d", "count": 0}}) \
        == "performed login exactly 0 times in the last 2 weeks"
    assert describe({"person.title": {"starts_with": "C"}}, Scope.PERSON) == "person title starts with C"
    assert describe({"bogus": 1}) == '{"bogus": 1}'  # not a condition: shown as written
    assert goal_words(BODEA["goal"]) == ("the Bodea-Product X buying group's status is Engaged "
                                         "— then the journey goes on")
    assert goal_words(None) is None
    assert exit_words(BODEA["exit"]) == ["leaves when account status is churned"]
    assert exit_words({"on_segment_exit": True, "unenroll_from": ["a", "b"]}) == [
        "leaves when the account leaves its entry segments",
        "entering unenrolls the account from a, b"]
    assert entry_words(BODEA["entry"]) == ("accounts entering segment bodea-targets (and those "
                                           "already in it when enabled) — never re-enter")
    assert entry_words({"event": {"type": "trial.started"}, "reenroll": {"after": "30d"}}) == \
        "accounts sending trial.started — may re-enter 30d after leaving"
    assert entry_brief(BODEA["entry"]) == "segment bodea-targets"
