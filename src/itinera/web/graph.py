"""A graph laid out for drawing: a layered (Sugiyama-style) layout in pure Python (the nodes and
edges of a journey come from ``web.journey_map``).

1. Edges that close a loop are found by a depth-first walk from the entry; they are drawn
   around the side, every other edge points down.
2. Each node's rank is the longest path to it from the entry over the downward edges, so a
   node sits below everything that leads to it (a merge below all its branches).
3. Edges spanning several ranks pass through invisible waypoints, one per rank crossed, so
   they take part in the ordering and are routed between nodes, not through them.
4. The order within each rank comes from barycentre sweeps (down, then up, several times),
   keeping the order with the fewest crossings.
5. Horizontal positions pull each node towards the mean of its neighbours while keeping
   the order and a minimum gap; ranks are evenly spaced.

Everything is deterministic: ties are broken by the order nodes and edges were given in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

__all__ = ["ENTRY", "GraphEdge", "GraphNode", "Layout", "PlacedNode", "RoutedEdge", "layout"]

ENTRY = "(entry)"  # not a valid node id, so it cannot clash with one
NODE_WIDTH, NODE_HEIGHT = 216.0, 80.0
RANK_GAP, NODE_GAP, WAYPOINT_GAP, MARGIN, LANE_GAP = 76.0, 40.0, 22.0, 24.0, 16.0
_SWEEPS = 8
_LABEL_CHARS = 24


@dataclass(frozen=True)
class GraphNode:
    """A node to draw: its id, its kind (a node kind, or ``entry``), a title and one line
    saying what it does."""

    id: str
    kind: str
    title: str
    detail: str


@dataclass(frozen=True)
class GraphEdge:
    """Where a node leads; ``label`` names the branch (a condition in words, a variant, a
    timeout)."""

    source: str
    target: str
    label: str | None = None


@dataclass(frozen=True)
class PlacedNode:
    node: GraphNode
    x: float  # left
    y: float  # top
    width: float
    height: float
    rank: int

    @property
    def center(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class RoutedEdge:
    """An edge as a polyline; ``back`` when it closes a loop (drawn around the right side).
    ``path`` is SVG path data: cubic curves downwards, straight runs around loops."""

    edge: GraphEdge
    points: tuple[tuple[float, float], ...]
    back: bool
    path: str
    label: str | None
    label_at: tuple[float, float] | None


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    nodes: tuple[PlacedNode, ...]
    edges: tuple[RoutedEdge, ...]

    def node(self, id: str) -> PlacedNode:
        return next(p for p in self.nodes if p.node.id == id)


def _short(text: str, size: int = _LABEL_CHARS) -> str:
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


# -- layout --------------------------------------------------------------------------------
@dataclass
class _Item:
    """A node or a waypoint of a long edge, in a rank."""

    id: str
    rank: int
    width: float
    real: bool
    x: float = 0.0
    up: list[str] = field(default_factory=list)
    down: list[str] = field(default_factory=list)


def _back_edges(ids: Sequence[str], succ: Mapping[str, list[str]], start: str) -> set[tuple[str, str]]:
    """Edges to a node still on the depth-first stack: those close loops."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    back: set[tuple[str, str]] = set()
    for root in [start, *ids]:
        if root in state or root not in succ:
            continue
        state[root] = 1
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, i = stack[-1]
            if i < len(succ[node]):
                stack[-1] = (node, i + 1)
                target = succ[node][i]
                if state.get(target) == 1:
                    back.add((node, target))
                elif target not in state:
                    state[target] = 1
                    stack.append((target, 0))
            else:
                state[node] = 2
                stack.pop()
    return back


def _ranks(ids: Sequence[str], forward: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Longest path from the sources, over an acyclic edge list (Kahn's order)."""
    incoming = {i: 0 for i in ids}
    succ: dict[str, list[str]] = {i: [] for i in ids}
    for source, target in forward:
        incoming[target] += 1
        succ[source].append(target)
    rank = dict.fromkeys(ids, 0)
    ready = [i for i in ids if incoming[i] == 0]
    while ready:
        node = ready.pop(0)
        for target in succ[node]:
            rank[target] = max(rank[target], rank[node] + 1)
            incoming[target] -= 1
            if incoming[target] == 0:
                ready.append(target)
    return rank


def _crossings(upper: list[str], lower: list[str], items: Mapping[str, _Item]) -> int:
    position = {id: i for i, id in enumerate(lower)}
    segments = [(i, position[d]) for i, u in enumerate(upper) for d in items[u].down]
    return sum(1 for a, (u1, d1) in enumerate(segments) for u2, d2 in segments[a + 1:]
               if (u1 - u2) * (d1 - d2) < 0)


def _order(layers: list[list[str]], items: Mapping[str, _Item]) -> list[list[str]]:
    """Barycentre sweeps; the ordering with the fewest crossings seen wins."""

    def total(current: list[list[str]]) -> int:
        return sum(_crossings(a, b, items) for a, b in pairwise(current))

    best, best_count = [list(layer) for layer in layers], total(layers)
    current = [list(layer) for layer in layers]
    for sweep in range(_SWEEPS):
        downwards = sweep % 2 == 0
        indices = range(1, len(current)) if downwards else range(len(current) - 2, -1, -1)
        for r in indices:
            near = current[r - 1] if downwards else current[r + 1]
            position = {id: i for i, id in enumerate(near)}

            def key(pair: tuple[int, str], downwards: bool = downwards,
                    position: Mapping[str, int] = position) -> tuple[float, int]:
                index, id = pair
                linked = items[id].up if downwards else items[id].down
                if not linked:
                    return (float(index), index)
                return (sum(position[n] for n in linked) / len(linked), index)

            current[r] = [id for _, id in sorted(enumerate(current[r]), key=key)]
        count = total(current)
        if count < best_count:
            best, best_count = [list(layer) for layer in current], count
    return best


def _gap(a: _Item, b: _Item) -> float:
    gap = NODE_GAP if a.real and b.real else WAYPOINT_GAP
    return (a.width + b.width) / 2 + gap


def _place(layer: list[_Item], desired: list[float]) -> None:
    """Put the items of a rank as near their desired centres as their order and gaps allow."""
    n = len(layer)
    left, right = list(desired), list(desired)
    for i in range(1, n):
        left[i] = max(desired[i], left[i - 1] + _gap(layer[i - 1], layer[i]))
    for i in range(n - 2, -1, -1):
        right[i] = min(desired[i], right[i + 1] - _gap(layer[i], layer[i + 1]))
    for i in range(n):
        x = (left[i] + right[i]) / 2
        layer[i].x = x if i == 0 else max(x, layer[i - 1].x + _gap(layer[i - 1], layer[i]))


def _coordinates(layers: list[list[str]], items: Mapping[str, _Item]) -> None:
    for layer in layers:
        steps = [_gap(items[a], items[b]) for a, b in pairwise(layer)]
        for i, id in enumerate(layer):
            items[id].x = -sum(steps) / 2 + sum(steps[:i])
    for sweep in range(6):
        downwards = sweep % 2 == 0
        order = layers[1:] if downwards else layers[-2::-1]
        for layer in order:
            row = [items[id] for id in layer]
            desired = []
            for item in row:
                linked = item.up if downwards else item.down
                desired.append(sum(items[n].x for n in linked) / len(linked) if linked else item.x)
            _place(row, desired)


def _curve(points: Sequence[tuple[float, float]]) -> str:
    """Cubic segments leaving and entering each point vertically."""
    (x0, y0), rest = points[0], points[1:]
    path = [f"M{x0:.1f},{y0:.1f}"]
    for x1, y1 in rest:
        dy = (y1 - y0) / 2
        path.append(f"C{x0:.1f},{y0 + dy:.1f} {x1:.1f},{y1 - dy:.1f} {x1:.1f},{y1:.1f}")
        x0, y0 = x1, y1
    return " ".join(path)


def _at_height(a: tuple[float, float], b: tuple[float, float], y: float) -> tuple[float, float]:
    """The point at height ``y`` of the vertical-tangent cubic from ``a`` down to ``b``."""
    share = min(max((y - a[1]) / (b[1] - a[1]), 0.0), 1.0) if b[1] != a[1] else 0.5
    low, high = 0.0, 1.0
    for _ in range(30):  # y(t) grows with t: bisect for the t at that height
        t = (low + high) / 2
        if 1.5 * t * (1 - t) + t ** 3 < share:
            low = t
        else:
            high = t
    t = (low + high) / 2
    return (a[0] + (b[0] - a[0]) * (3 * t * t - 2 * t ** 3), a[1] + (b[1] - a[1]) * share)


def _ports(count: int, width: float) -> list[float]:
    """Offsets from a node's centre where ``count`` edges leave or arrive, spread evenly."""
    if count <= 1:
        return [0.0] * count
    step = min(width / (count + 1), 36.0)
    return [(i - (count - 1) / 2) * step for i in range(count)]


def layout(nodes: Sequence[GraphNode], edges: Sequence[GraphEdge],
           start: str = ENTRY) -> Layout:
    """Place ``nodes`` and route ``edges`` (see the module's description). Edges between the
    same two nodes are drawn once, their labels joined."""
    ids = [n.id for n in nodes]
    known = set(ids)
    merged: dict[tuple[str, str], list[str]] = {}
    for edge in edges:
        if edge.source in known and edge.target in known:
            labels = merged.setdefault((edge.source, edge.target), [])
            if edge.label and edge.label not in labels:
                labels.append(edge.label)
    unique = [GraphEdge(s, t, " / ".join(labels) or None) for (s, t), labels in merged.items()]
    succ: dict[str, list[str]] = {i: [] for i in ids}
    for e in unique:
        succ[e.source].append(e.target)
    back = _back_edges(ids, succ, start)
    forward = [(e.source, e.target) for e in unique if (e.source, e.target) not in back]
    rank = _ranks(ids, forward)

    items = {i: _Item(i, rank[i], NODE_WIDTH, True) for i in ids}
    chains: dict[tuple[str, str], list[str]] = {}
    for source, target in forward:
        chain, previous = [], source
        for r in range(rank[source] + 1, rank[target]):
            waypoint = f"{source}->{target}#{r}"
            items[waypoint] = _Item(waypoint, r, 0.0, False)
            items[previous].down.append(waypoint)
            items[waypoint].up.append(previous)
            chain.append(waypoint)
            previous = waypoint
        items[previous].down.append(target)
        items[target].up.append(previous)
        chains[(source, target)] = chain

    # First order: as each rank's items are first reached from the rank above.
    depth = max(rank.values(), default=0)
    layers: list[list[str]] = [[] for _ in range(depth + 1)]
    placed: set[str] = set()
    for r in range(depth + 1):
        parents = layers[r - 1] if r else []
        for parent in parents:
            for child in items[parent].down:
                if child not in placed and items[child].rank == r:
                    placed.add(child)
                    layers[r].append(child)
        for id in ids:
            if rank[id] == r and id not in placed:
                placed.add(id)
                layers[r].append(id)
    layers = _order(layers, items)
    _coordinates(layers, items)

    left = min(item.x - item.width / 2 for item in items.values())
    shift = MARGIN - left

    def top(r: int) -> float:
        return MARGIN + r * (NODE_HEIGHT + RANK_GAP)

    by_id = {n.id: n for n in nodes}
    placed_nodes = tuple(
        PlacedNode(by_id[id], items[id].x + shift - NODE_WIDTH / 2, top(rank[id]),
                   NODE_WIDTH, NODE_HEIGHT, rank[id])
        for layer in layers for id in layer if items[id].real)
    boxes = {p.node.id: p for p in placed_nodes}
    routed = _route(unique, back, chains, items, boxes, shift, top)
    right = max([p.x + p.width for p in placed_nodes]
                + [x for r in routed for x, _ in r.points], default=0.0)
    height = top(depth) + NODE_HEIGHT + MARGIN
    return Layout(right + MARGIN, height, placed_nodes, tuple(routed))


def _route(edges: Sequence[GraphEdge], back: set[tuple[str, str]],
           chains: Mapping[tuple[str, str], list[str]], items: Mapping[str, _Item],
           boxes: Mapping[str, PlacedNode], shift: float, top: Any) -> list[RoutedEdge]:
    # Where each edge leaves its source and enters its target, spread left to right in the
    # order of what is at the other end, so edges do not cross at the nodes.
    def first_x(e: GraphEdge) -> float:
        chain = chains[(e.source, e.target)]
        return items[chain[0]].x if chain else boxes[e.target].center - shift

    def last_x(e: GraphEdge) -> float:
        chain = chains[(e.source, e.target)]
        return items[chain[-1]].x if chain else boxes[e.source].center - shift

    downward = [e for e in edges if (e.source, e.target) not in back]
    out_port: dict[tuple[str, str], float] = {}
    in_port: dict[tuple[str, str], float] = {}
    for id in boxes:
        leaving = sorted((e for e in downward if e.source == id), key=first_x)
        for e, offset in zip(leaving, _ports(len(leaving), NODE_WIDTH), strict=True):
            out_port[(e.source, e.target)] = offset
        arriving = sorted((e for e in downward if e.target == id), key=last_x)
        for e, offset in zip(arriving, _ports(len(arriving), NODE_WIDTH), strict=True):
            in_port[(e.source, e.target)] = offset

    routed: list[RoutedEdge] = []
    lane_right = max(p.x + p.width for p in boxes.values()) + LANE_GAP * 2
    lanes = 0
    for e in edges:
        source, target = boxes[e.source], boxes[e.target]
        key = (e.source, e.target)
        if key in back:
            # Around the right side: out of the source's right edge, up (or down) a lane of
            # its own, into the target's right edge.
            lane = lane_right + lanes * LANE_GAP
            lanes += 1
            sy, ty = source.y + source.height * 0.65, target.y + target.height * 0.35
            loop = ((source.x + source.width, sy), (lane, sy), (lane, ty),
                    (target.x + target.width, ty))
            path = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in loop)
            label_at = (lane, (sy + ty) / 2) if e.label else None
            routed.append(RoutedEdge(e, loop, True, path, e.label and _short(e.label), label_at))
            continue
        start = (source.center + out_port[key], source.y + source.height)
        middle = [(items[w].x + shift, top(items[w].rank) + NODE_HEIGHT / 2) for w in chains[key]]
        end = (target.center + in_port[key], target.y)
        points: tuple[tuple[float, float], ...] = (start, *middle, end)
        label_y = source.y + source.height + RANK_GAP * 0.6
        label_at = _at_height(points[0], points[1], label_y) if e.label else None
        routed.append(RoutedEdge(e, points, False, _curve(points), e.label and _short(e.label),
                                 label_at))
    return routed
