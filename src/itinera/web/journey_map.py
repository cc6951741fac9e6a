"""A journey definition as a graph to draw: its nodes (the entry first) with a kind, a title and
one line saying what each does, and its edges labelled with their branches in words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from itinera.conditions.parse import Scope
from itinera.definitions._graph import node_targets
from itinera.definitions.models import NODE_KINDS
from itinera.web.graph import ENTRY, GraphEdge, GraphNode
from itinera.web.words import describe

__all__ = ["journey_graph"]


def _detail(kind: str, node: Mapping[str, Any]) -> str:
    spec = node.get(kind)
    if kind == "do" and isinstance(spec, list):
        names = [next(iter(a)) for a in spec if isinstance(a, Mapping) and a]
        first = spec[0].get(names[0]) if names and isinstance(spec[0], Mapping) else None
        what = names[0].replace("_", " ") if names else "nothing"
        if names and isinstance(first, Mapping) and "template" in first:
            what += f" {first['template']}"
        return what + (f" +{len(names) - 1} more" if len(names) > 1 else "")
    if kind == "wait":
        return f"wait {spec}"
    if kind == "wait_until" and isinstance(spec, Mapping):
        base = spec.get("date") or spec.get("at")
        return f"until {base}" + (f" {spec['offset']}" if spec.get("offset") else "")
    if kind == "wait_for" and isinstance(spec, Mapping):
        events = spec.get("events") or []
        what = ", ".join(events) if events else "a condition"
        return f"listen for {what}" + (f" ({spec['timeout']} max)" if spec.get("timeout") else "")
    if kind in ("split", "split_people") and isinstance(spec, list):
        return f"{len(spec)} branches" + (" by person" if kind == "split_people" else "")
    if kind == "experiment" and isinstance(spec, Mapping):
        return f"experiment {spec.get('name')}"
    return {"merge": "paths join", "end": "the path ends"}.get(kind, kind)


def _branch_label(kind: str, branch: Mapping[str, Any]) -> str:
    if "else" in branch:
        return "otherwise"
    scope = Scope.PERSON if kind == "split_people" else Scope.ACCOUNT
    return describe(branch.get("when"), scope).removeprefix("account ").removeprefix("person ")


def journey_graph(definition: Mapping[str, Any], entry_detail: str = "")\
        -> tuple[list[GraphNode], list[GraphEdge]]:
    """The nodes (the entry first, then in the definition's order) and labelled edges of a
    journey definition as stored (a raw mapping)."""
    raw_nodes: Mapping[str, Any] = definition.get("nodes") or {}
    nodes = [GraphNode(ENTRY, "entry", "Entry", entry_detail)]
    edges: list[GraphEdge] = []
    if isinstance(definition.get("start"), str):
        edges.append(GraphEdge(ENTRY, definition["start"]))
    for id, node in raw_nodes.items():
        kind = next((k for k in NODE_KINDS if k in node), "do")
        nodes.append(GraphNode(id, kind, str(node.get("name") or id), _detail(kind, node)))
        for place, target in node_targets(node):
            if target not in raw_nodes:
                continue
            label: str | None = None
            if place.startswith(("split", "split_people")):
                index = int(place.split("[", 1)[1].split("]", 1)[0])
                label = _branch_label(kind, node[kind][index])
            elif place.startswith("experiment"):
                index = int(place.split("[", 1)[1].split("]", 1)[0])
                variant = node["experiment"]["variants"][index]
                label = f"{variant.get('name')} ({variant.get('weight')})"
            elif place == "on_timeout":
                label = f"after {node['wait_for'].get('timeout')}"
            elif kind == "wait_for":
                label = "heard"
            edges.append(GraphEdge(id, target, label))
    return nodes, edges
