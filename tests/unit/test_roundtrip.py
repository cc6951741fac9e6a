"""The studio's round-trip YAML model (definitions.roundtrip): every file written back byte for
byte, edits that keep comments and order elsewhere, the loader's meaning kept, places to lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from itinera.definitions.loader import parse_document
from itinera.definitions.roundtrip import (
    EditError,
    _dump,
    _tree,
    apply_edits,
    dump_yaml,
    locate,
    parse_edits,
)
from itinera.errors import DefinitionError

ROOT = Path(__file__).parents[2]
FILES = sorted([*ROOT.glob("examples/**/*.yaml"), *ROOT.glob("tests/conformance/**/*.yaml"),
                *ROOT.glob("tests/fixtures/**/*.yaml")])
RENEWAL = (ROOT / "examples/csb-renewal.journey.yaml").read_text()

# Comments everywhere, flow and block style, quoted strings, block scalars, anchors, YAML 1.1
# words as node ids, a node called 2024.
ODD = """\
# head comment
id: odd   # trailing
name: 'single quoted'
description: |
  a literal block
  of two lines
entry: {segments: [trials], existing: true}
defaults: &wait 3d
start: yes
nodes:
  yes:            # a node called yes
    do: [{set: {account.flag: "on"}}]
    next: 2024
  2024:
    wait: *wait
    next: no
  no:
    split:
      - when: {account.plan: pro}
        next: yes
      - else: off   # the last
  off: {end: true}
# tail comment
"""


def edit(text: str, *ops: dict[str, Any]) -> str:
    return apply_edits(text, parse_edits(list(ops)))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_is_written_back_byte_for_byte(path: Path) -> None:
    text = path.read_text()
    assert _dump(_tree(text, path.name)) == text
    assert apply_edits(text, []) == text
    assert len(FILES) > 30


def test_an_odd_file_round_trips_and_keeps_the_loaders_meaning() -> None:
    assert _dump(_tree(ODD, "odd")) == ODD
    data = parse_document(ODD, "odd")
    assert data["start"] == "yes" and list(data["nodes"]) == ["yes", "2024", "no", "off"]
    # Renaming the node called 2024 (an int to ruamel, text to the loader) goes by the loader.
    out = edit(ODD, {"op": "rename_node", "from": "2024", "to": "pause"})
    assert "  pause:\n    wait: *wait\n" in out and "    next: pause\n" in out
    assert "# head comment" in out and "# a node called yes" in out and "# the last" in out
    after = parse_document(out, "odd")
    assert list(after["nodes"]) == ["yes", "pause", "no", "off"]
    assert after["nodes"]["pause"] == {"wait": "3d", "next": "no"}


def test_rename_node_updates_every_reference_in_place() -> None:
    out = edit(ODD, {"op": "rename_node", "from": "yes", "to": "first"})
    data = parse_document(out, "odd")
    assert data["start"] == "first" and next(iter(data["nodes"])) == "first"
    assert data["nodes"]["no"]["split"][0]["next"] == "first"
    assert "  first:          # a node called yes\n" in out  # the comment keeps its column
    renewal = edit(RENEWAL, {"op": "rename_node", "from": "await-commit", "to": "wait-commit"})
    nodes = parse_document(renewal, "r")["nodes"]
    assert nodes["csm-hit"]["next"] == "wait-commit" and "await-commit" not in nodes
    assert list(nodes).index("wait-commit") == list(parse_document(RENEWAL, "r")["nodes"]) \
        .index("await-commit")
    with pytest.raises(EditError, match="exists already"):
        edit(RENEWAL, {"op": "rename_node", "from": "await-commit", "to": "paperwork"})


def _diff(before: str, after: str) -> tuple[list[str], list[str]]:
    old, new = before.splitlines(), after.splitlines()
    return [line for line in old if line not in new], [line for line in new if line not in old]


def test_each_edit_changes_only_its_own_lines() -> None:
    removed, added = _diff(RENEWAL, edit(RENEWAL, {
        "op": "set", "path": ["nodes", "t-minus-60", "wait_until", "offset"], "value": "-45d"}))
    assert removed == ["    wait_until: {date: account.renewal_date, offset: -60d}"]
    assert added == ["    wait_until: {date: account.renewal_date, offset: -45d}"]

    removed, added = _diff(RENEWAL, edit(RENEWAL, {
        "op": "insert", "path": ["nodes", "csm-hit", "do"], "index": 0,
        "value": {"assign_playbook": "renewal"}}))
    assert removed == [] and added == []  # the same line exists already: count instead
    inserted = edit(RENEWAL, {"op": "insert", "path": ["nodes", "csm-hit", "do"], "index": 0,
                              "value": {"add_moment": {"type": "Note", "description": "x"}}})
    assert "      - add_moment:\n          type: Note\n          description: x\n" in inserted
    assert len(inserted.splitlines()) == len(RENEWAL.splitlines()) + 3

    removed, added = _diff(RENEWAL, edit(RENEWAL, {"op": "delete", "path": ["exit"]}))
    assert removed == ["exit:", "  when: {account.renewal_status: churned}",
                       "  unenroll_from: [upsell-nurture]"] and added == []

    moved = edit(RENEWAL, {"op": "move", "path": ["nodes", "value-recap", "do"], "from": 1,
                           "to": 0})
    assert moved.index("      - send_email: {template: renewal-value-recap") \
        < moved.index("      - set: {account.renewal_stage: value-recap}")
    assert sorted(moved.splitlines()) == sorted(RENEWAL.splitlines())


def test_comments_survive_every_kind_of_edit() -> None:
    comments = [line for line in RENEWAL.splitlines() if "#" in line and "{{" not in line]
    out = edit(RENEWAL,
               {"op": "set", "path": ["name"], "value": "Renewal"},
               {"op": "delete", "path": ["nodes", "value-recap", "do", 0]},
               {"op": "set", "path": ["nodes", "extra"], "value": {"wait": "1d"}},
               {"op": "move", "path": ["nodes", "csm-hit", "do"], "from": 2, "to": 0},
               {"op": "rename_node", "from": "escalate", "to": "escalation"})
    assert [line for line in out.splitlines() if "#" in line and "{{" not in line] == comments


def test_new_values_are_written_so_the_loader_reads_them_as_given() -> None:
    out = edit("id: j\nnodes:\n  a: {wait: 1d}\n",
               {"op": "set", "path": ["nodes", "a", "label"], "value": "yes"},
               {"op": "set", "path": ["nodes", "b"], "value": {
                   "do": [{"set": {"account.version": "1.0", "account.flag": "off",
                                   "account.n": 3, "account.on": True}}],
                   "next": "no"}},
               {"op": "set", "path": ["description"], "value": "two\nlines\n"})
    data = parse_document(out, "j")
    assert data["nodes"]["a"]["label"] == "yes"
    assert data["nodes"]["b"]["do"][0]["set"] == {"account.version": "1.0",
                                                  "account.flag": "off", "account.n": 3,
                                                  "account.on": True}
    assert data["nodes"]["b"]["next"] == "no" and "    next: no\n" in out  # a name: unquoted
    assert data["description"] == "two\nlines\n" and "description: |\n  two\n  lines\n" in out


def test_edits_are_all_or_nothing_with_the_failing_ones_place() -> None:
    with pytest.raises(EditError) as caught:
        edit(RENEWAL, {"op": "set", "path": ["name"], "value": "x"},
             {"op": "insert", "path": ["nodes", "csm-hit", "do"], "index": 9, "value": 1})
    assert caught.value.problems[0].place == "edits[1]"
    assert "out of range" in caught.value.problems[0].message
    with pytest.raises(EditError, match="nothing there"):
        edit(RENEWAL, {"op": "delete", "path": ["nodes", "nope", "next"]})
    with pytest.raises(EditError) as shape:
        parse_edits([{"op": "teleport"}])
    assert shape.value.problems[0].place.startswith("edits[0]")
    with pytest.raises(DefinitionError):  # the text must read first
        edit("a: [\n", {"op": "set", "path": ["a"], "value": 1})
    with pytest.raises(DefinitionError):  # the loader's limits and refusals hold
        edit("a: .nan\n", {"op": "set", "path": ["b"], "value": 1})


def test_places_map_to_lines_and_columns() -> None:
    lines = RENEWAL.splitlines()

    def at(place: str) -> str:
        found = locate(RENEWAL, place)
        assert found is not None, place
        line, column = found
        return lines[line - 1][column - 1:]

    assert at("nodes.health-check.split[0].next").startswith("next: t-minus-60")
    assert at("nodes.health-check.split[0].when.account.health").startswith("account.health")
    assert at("nodes.at-risk.do[2].webhook.url").startswith("url: https://crm.test")
    assert at("exit.unenroll_from[0]").startswith("upsell-nurture")
    assert at("nodes.await-commit").startswith("await-commit:")
    # A key that is not there: where it belongs (its parent).
    assert at("nodes.await-commit.wait_for.where").startswith("wait_for:")
    assert locate("a: [\n", "a") is None


def test_dump_yaml_writes_a_definition_in_block_style() -> None:
    data = parse_document(RENEWAL, "r")
    text = dump_yaml(data)
    assert parse_document(text, "r") == data
    assert "nodes:\n  value-recap:\n    do:\n      - set:\n" in text


def test_rename_node_follows_timeouts_variants_and_people_splits() -> None:
    text = """\
id: j
entry: {segments: [s]}
start: pick
nodes:
  pick:
    experiment:
      name: e
      variants:
        - {name: a, weight: 1, next: listen}
        - {name: b, weight: 1, next: people}
  listen:
    wait_for: {events: [x], timeout: 1d}
    next: done
    on_timeout: listen-again
  listen-again: {wait: 1d, next: done}
  people:
    split_people:
      - when: {person.title: CEO}
        next: done
      - else: listen-again
  done: {end: true}
"""
    out = edit(text, {"op": "rename_node", "from": "listen-again", "to": "retry"},
               {"op": "rename_node", "from": "listen", "to": "wait-x"})
    nodes = parse_document(out, "j")["nodes"]
    assert list(nodes) == ["pick", "wait-x", "retry", "people", "done"]
    assert nodes["pick"]["experiment"]["variants"][0]["next"] == "wait-x"
    assert nodes["wait-x"]["on_timeout"] == "retry"
    assert nodes["people"]["split_people"][1]["else"] == "retry"
    assert "        - {name: a, weight: 1, next: wait-x}\n" in out  # flow style kept
