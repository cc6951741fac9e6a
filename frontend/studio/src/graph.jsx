// The draft's graph: laid out by dagre, drawn as SVG. Nodes select; "+" on every edge and after
// every open node adds a node there (the palette opens); problems and backtest counts show on
// their nodes.
import { Graph, layout } from "@dagrejs/dagre";
import { ENTRY, graphOf, kindOf, KIND_LABELS, nodeOfPlace } from "./model.js";

const W = 190;
const H = 58;

function summary(node) {
  const kind = kindOf(node);
  if (!kind) return "(no kind)";
  const v = node[kind];
  switch (kind) {
    case "do": return (v || []).map((a) => (a && typeof a === "object" ? Object.keys(a)[0] : "?")).join(", ") || "no actions";
    case "wait": return `wait ${v}`;
    case "wait_until": return v && v.date ? `until ${v.date} ${v.offset || ""}` : `until ${(v && v.at) || "?"}`;
    case "wait_for": return `for ${(v && v.events && v.events.join(", ")) || "a condition"}${v && v.timeout ? `, ${v.timeout} max` : ""}`;
    case "split": case "split_people": return `${(v || []).length} branches`;
    case "experiment": return `${((v && v.variants) || []).length} variants`;
    default: return KIND_LABELS[kind] || kind;
  }
}

/** Enter or Space on a focused node or "+": what a click does (the graph works from the keyboard). */
function pressed(ev, action) {
  if (ev.key !== "Enter" && ev.key !== " ") return;
  ev.preventDefault();
  ev.stopPropagation();
  action();
}

export function layoutGraph(model) {
  const { nodes, edges } = graphOf(model);
  const g = new Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 40, ranksep: 56, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  g.setNode(ENTRY, { width: W, height: 40 });
  for (const id of Object.keys(nodes)) g.setNode(id, { width: W, height: H });
  const open = [];
  edges.forEach((edge, i) => {
    if (edge.to && (edge.to in nodes)) {
      g.setEdge(edge.from, edge.to, { label: edge.label, width: edge.label ? (edge.title ? 150 : 60) : 0, height: edge.label ? 16 : 0, labelpos: "c" }, `e${i}`);
    } else {
      // An open way out: a "+" placeholder under its node.
      const ghost = `__open${i}`;
      g.setNode(ghost, { width: 28, height: 28 });
      g.setEdge(edge.from, ghost, { label: edge.label, width: edge.label ? (edge.title ? 150 : 60) : 0, height: edge.label ? 16 : 0 }, `e${i}`);
      open.push({ ghost, edge, index: i });
    }
  });
  layout(g);
  const graph = g.graph();
  return { g, edges, nodes, open, width: graph.width || 400, height: graph.height || 200 };
}

function pathOf(points) {
  if (!points || !points.length) return "";
  return points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
}

function midpoint(points) {
  if (!points || !points.length) return { x: 0, y: 0 };
  if (points.length % 2 === 1) return points[(points.length - 1) / 2];
  const a = points[points.length / 2 - 1];
  const b = points[points.length / 2];
  return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}

export function GraphView({ model, problems, selected, onSelect, onAdd, counts, entryLabel }) {
  const laid = layoutGraph(model);
  const { g, edges, nodes } = laid;
  const troubled = new Set((problems || []).map((p) => nodeOfPlace(p.place)).filter(Boolean));
  const ghosts = new Map(laid.open.map((o) => [o.ghost, o]));
  return (
    <svg class="studio-graph" width={laid.width} height={laid.height} viewBox={`0 0 ${laid.width} ${laid.height}`}
         role="img" aria-label="The journey's graph">
      <defs>
        <marker id="studio-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" />
        </marker>
      </defs>
      {edges.map((edge, i) => {
        const target = edge.to && edge.to in nodes ? edge.to : `__open${i}`;
        const laidEdge = g.edge({ v: edge.from, w: target, name: `e${i}` });
        if (!laidEdge) return null;
        const mid = midpoint(laidEdge.points);
        const isOpen = target.startsWith("__open");
        return (
          <g class={`edge${isOpen ? " open" : ""}`} key={`e${i}`} data-edge-from={edge.from} data-edge-to={edge.to || ""}
             data-edge-label={edge.label || ""}>
            <path d={pathOf(laidEdge.points)} marker-end={isOpen ? undefined : "url(#studio-arrow)"} />
            {edge.label ? <text class="edge-label" x={laidEdge.x ?? mid.x} y={(laidEdge.y ?? mid.y) + 4} text-anchor="middle">
              {edge.title ? `${edge.label} ${edge.title}` : edge.label}<title>{edge.title || edge.label}</title></text> : null}
            {!isOpen && (
              <g class="add" transform={`translate(${mid.x} ${mid.y + (edge.label ? 18 : 0)})`} role="button" tabIndex={0}
                 aria-label={`Add a node between ${edge.from === ENTRY ? "entry" : edge.from} and ${edge.to}`}
                 data-add-from={edge.from} data-add-to={edge.to} data-add-label={edge.label || ""}
                 onClick={(ev) => { ev.stopPropagation(); onAdd(edge); }} onKeyDown={(ev) => pressed(ev, () => onAdd(edge))}>
                <circle r="9" /><text y="4" text-anchor="middle">+</text>
              </g>
            )}
          </g>
        );
      })}
      {laid.open.map(({ ghost, edge }) => {
        const n = g.node(ghost);
        return (
          <g class="add open-end" key={ghost} transform={`translate(${n.x} ${n.y})`} role="button" tabIndex={0}
             aria-label={`Add a node after ${edge.from === ENTRY ? "entry" : edge.from}${edge.label ? ` (${edge.label})` : ""}`}
             data-add-from={edge.from} data-add-to="" data-add-label={edge.label || ""}
             onClick={(ev) => { ev.stopPropagation(); onAdd(edge); }} onKeyDown={(ev) => pressed(ev, () => onAdd(edge))}>
            <circle r="12" /><text y="5" text-anchor="middle">+</text>
          </g>
        );
      })}
      {(() => {
        const n = g.node(ENTRY);
        return (
          <g class={`node entry${selected === ENTRY ? " selected" : ""}`} data-node={ENTRY}
             transform={`translate(${n.x - W / 2} ${n.y - 20})`} onClick={() => onSelect(ENTRY)}>
            <rect width={W} height={40} rx="20" />
            <text x={W / 2} y="17" text-anchor="middle" class="title">Entry</text>
            <text x={W / 2} y="32" text-anchor="middle" class="sub">{(entryLabel || "").slice(0, 30)}</text>
          </g>
        );
      })()}
      {Object.entries(nodes).map(([id, node]) => {
        const n = g.node(id);
        if (!n) return null;
        const kind = kindOf(node) || "unknown";
        const count = counts ? counts[id] : undefined;
        return (
          <g key={id} class={`node kind-${kind}${selected === id ? " selected" : ""}${troubled.has(id) ? " troubled" : ""}`}
             data-node={id} data-kind={kind} transform={`translate(${n.x - W / 2} ${n.y - H / 2})`}
             tabIndex={0} role="button" aria-label={`Node ${id}`}
             onClick={(ev) => { ev.stopPropagation(); onSelect(id); }} onKeyDown={(ev) => pressed(ev, () => onSelect(id))}>
            <rect width={W} height={H} rx="8" />
            <rect class="band" width="6" height={H} rx="3" />
            <text x="14" y="20" class="title">{(node && node.name) || id}</text>
            <text x="14" y="38" class="sub">{summary(node).slice(0, 30)}</text>
            <text x="14" y="52" class="kind">{KIND_LABELS[kind] || kind}</text>
            {troubled.has(id) ? <g class="problem-badge" transform={`translate(${W - 14} 12)`}><circle r="8" /><text y="4" text-anchor="middle">!</text></g> : null}
            {count !== undefined && count !== null ? <g class="count-badge" transform={`translate(${W - 24} ${H - 12})`}><rect x="-22" y="-9" width="44" height="16" rx="8" /><text y="3" text-anchor="middle" data-count="backtest">{count}</text></g> : null}
          </g>
        );
      })}
      {[...ghosts.keys()].length === 0 ? null : null}
    </svg>
  );
}
