"""Two versions of a journey compared: each node added, removed, changed or the same, drawn on
one graph (the newer version's, with the removed nodes of the older one beside it), and the two
definitions as a unified YAML diff."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from itinera.web.graph import ENTRY, GraphEdge, GraphNode, Layout, layout
from itinera.web.journey_map import journey_graph

__all__ = ["VersionDiff", "definition_yaml", "diff_versions"]

_MAX_LINES = 4000  # a diff longer than this is cut (the page says so)


def definition_yaml(definition: Mapping[str, Any]) -> str:
    """A stored definition as YAML, in its keys' order, without its ``version``."""
    body = {k: v for k, v in definition.items() if k != "version"}
    return yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)


@dataclass
class VersionDiff:
    marks: dict[str, str]  # node id -> added | removed | changed | same
    graph: Layout
    lines: list[tuple[str, str]]  # (kind: add | del | hunk | same, text)
    cut: bool

    @property
    def counts(self) -> dict[str, int]:
        found = {"added": 0, "removed": 0, "changed": 0}
        for mark in self.marks.values():
            if mark in found:
                found[mark] += 1
        return found


def diff_versions(older: Mapping[str, Any], newer: Mapping[str, Any]) -> VersionDiff:
    old_nodes: Mapping[str, Any] = older.get("nodes") or {}
    new_nodes: Mapping[str, Any] = newer.get("nodes") or {}
    marks: dict[str, str] = {}
    for node_id, node in new_nodes.items():
        marks[node_id] = ("added" if node_id not in old_nodes
                          else "same" if old_nodes[node_id] == node else "changed")
    for node_id in old_nodes:
        if node_id not in new_nodes:
            marks[node_id] = "removed"
    entry_changed = any(older.get(k) != newer.get(k)
                        for k in ("entry", "goal", "exit", "start"))
    marks[ENTRY] = "changed" if entry_changed else "same"
    nodes, edges = journey_graph(newer)
    old_graph_nodes, old_edges = journey_graph(older)
    removed = {n for n, m in marks.items() if m == "removed"}
    nodes += [n for n in old_graph_nodes if n.id in removed]
    known = {n.id for n in nodes}
    edges += [GraphEdge(e.source, e.target, e.label) for e in old_edges
              if (e.source in removed or e.target in removed)
              and e.source in known and e.target in known]
    text = list(difflib.unified_diff(definition_yaml(older).splitlines(),
                                     definition_yaml(newer).splitlines(),
                                     "older", "newer", lineterm="", n=3))
    lines = []
    for line in text[2:]:  # the ---/+++ header says nothing the page does not
        kind = ("hunk" if line.startswith("@@") else "add" if line.startswith("+")
                else "del" if line.startswith("-") else "same")
        lines.append((kind, line))
    return VersionDiff(marks, layout(_graph_nodes(nodes), edges), lines[:_MAX_LINES],
                       len(lines) > _MAX_LINES)


def _graph_nodes(nodes: list[GraphNode]) -> list[GraphNode]:
    seen: set[str] = set()
    out = []
    for node in nodes:
        if node.id not in seen:
            seen.add(node.id)
            out.append(node)
    return out
