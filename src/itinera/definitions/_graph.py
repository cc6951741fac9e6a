"""The node graph of a journey: where each node leads, what start reaches, which loops spin.

Everything here reads the *raw* node mappings, so a node that failed its shape check still
contributes its edges: one broken node must not make its successors look unreachable.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from itinera.definitions._shape import join
from itinera.errors import Problem

__all__ = ["BRANCHING_KINDS", "WAIT_KINDS", "cyclic_groups", "graph_problems", "node_targets",
           "shortest_cycle"]

# A loop through one of these cannot spin at one instant: it waits for time or an event.
WAIT_KINDS = frozenset({"wait", "wait_until", "wait_for"})
BRANCHING_KINDS = frozenset({"end", "split", "split_people", "experiment"})


def node_targets(node: Any) -> list[tuple[str, str]]:
    """``(place inside the node, target node id)`` for every node id the node names."""
    if not isinstance(node, dict):
        return []
    found: list[tuple[str, str]] = []
    # These kinds go on through their branches only; a `next` on them is reported as unused
    # and, since it is never followed, is no edge (it would fake loops and reachability).
    branching = any(kind in node for kind in BRANCHING_KINDS)
    for key in ("next", "on_timeout"):
        if key == "next" and branching:
            continue
        if isinstance(node.get(key), str):
            found.append((key, node[key]))
    for kind in ("split", "split_people"):
        branches = node.get(kind)
        if isinstance(branches, list):
            for i, branch in enumerate(branches):
                for key in ("next", "else"):
                    if isinstance(branch, dict) and isinstance(branch.get(key), str):
                        found.append((f"{kind}[{i}].{key}", branch[key]))
    experiment = node.get("experiment")
    variants = experiment.get("variants") if isinstance(experiment, dict) else None
    if isinstance(variants, list):
        for i, variant in enumerate(variants):
            if isinstance(variant, dict) and isinstance(variant.get("next"), str):
                found.append((f"experiment.variants[{i}].next", variant["next"]))
    return found


def cyclic_groups(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected parts of the graph that hold a cycle, in the graph's order.

    Tarjan's algorithm, iterative so a long chain of nodes cannot exhaust Python's stack.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, [t for t in edges[root] if t in edges])]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                target = pending.pop()
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, [t for t in edges[target] if t in edges]))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in edges[node]:
                    order = list(edges)
                    groups.append(sorted(group, key=order.index))
    order = list(edges)
    return sorted(groups, key=lambda g: order.index(g[0]))


def shortest_cycle(start: str, edges: Mapping[str, Iterable[str]], within: set[str]) -> list[str]:
    """A shortest path from ``start`` back to itself inside ``within`` (start ... start)."""
    parents: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in edges[node]:
            if target not in within:
                continue
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [*reversed(path), start]
            if target not in parents:
                parents[target] = node
                queue.append(target)
    return [start, start]


def graph_problems(nodes: Mapping[str, Any], start: Any, place: str) -> list[Problem]:
    """Dangling targets, unreachable nodes and loops without a wait, for raw ``nodes``."""
    problems: list[Problem] = []
    nodes_place = join(place, "nodes")
    edges: dict[str, list[str]] = {}
    for name, node in nodes.items():
        edges[name] = []
        for where, target in node_targets(node):
            if target in nodes:
                edges[name].append(target)
            else:
                place = join(join(nodes_place, name), where)
                problems.append(Problem(place, f"no node {target!r}"))
    if isinstance(start, str) and start in nodes:
        # An unknown start is reported on its own; calling every node unreachable would bury it.
        seen = {start}
        queue = deque([start])
        while queue:
            for target in edges[queue.popleft()]:
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
        for name in nodes:
            if name not in seen:
                message = f"unreachable from start {start!r}"
                problems.append(Problem(join(nodes_place, name), message))
    # A loop is safe when some node on it waits; so look for loops among the other nodes only.
    busy = {name: [t for t in targets if not _waits(nodes[t])]
            for name, targets in edges.items() if not _waits(nodes[name])}
    for group in cyclic_groups(busy):
        cycle = shortest_cycle(group[0], busy, set(group))
        problems.append(Problem(
            join(nodes_place, group[0]),
            f"cycle with no wait node (wait, wait_until or wait_for) on it: {' -> '.join(cycle)}",
        ))
    return problems


def _waits(node: Any) -> bool:
    return isinstance(node, dict) and any(kind in node for kind in WAIT_KINDS)
