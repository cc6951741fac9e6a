// The journey as a graph, and the edit operations (the drafts API's ops) each studio gesture
// sends. Everything here reads the draft's `model` (the parsed file as JSON); nothing edits it
// locally: the server applies the ops to the text (keeping comments) and answers the new draft.

export const NODE_KINDS = ["do", "split", "split_people", "merge", "wait", "wait_until",
  "wait_for", "experiment", "end"];

export const KIND_LABELS = {
  do: "Do (actions)", split: "Split (account)", split_people: "Split people", merge: "Merge",
  wait: "Wait", wait_until: "Wait until a date", wait_for: "Wait for an event",
  experiment: "Experiment", end: "End",
};

export const ENTRY = "__entry__";

export function kindOf(node) {
  if (!node || typeof node !== "object") return null;
  return NODE_KINDS.find((k) => node[k] !== undefined && node[k] !== null) || null;
}

/** Where `node` goes: one edge per place in the file that names a next node. */
export function slotsOf(id, node) {
  const out = [];
  if (!node || typeof node !== "object") return out;
  const kind = kindOf(node);
  const base = ["nodes", id];
  if (kind === "split" || kind === "split_people") {
    (node[kind] || []).forEach((branch, i) => {
      if (!branch || typeof branch !== "object") return;
      if ("else" in branch) out.push({ path: [...base, kind, i, "else"], to: branch.else, label: "else", branch: i });
      else out.push({ path: [...base, kind, i, "next"], to: branch.next, label: `#${i + 1}`, branch: i,
        title: briefCondition(branch.when) });
    });
  } else if (kind === "experiment") {
    ((node.experiment || {}).variants || []).forEach((variant, i) => {
      out.push({ path: [...base, "experiment", "variants", i, "next"], to: variant && variant.next,
        label: (variant && variant.name) || `#${i + 1}` });
    });
  }
  if (kind !== "end" && kind !== "split" && kind !== "split_people" && kind !== "experiment") {
    out.push({ path: [...base, "next"], to: node.next ?? null, label: "" , optional: true });
  }
  if (kind === "wait_for") {
    out.push({ path: [...base, "on_timeout"], to: node.on_timeout ?? null, label: "timeout", optional: true });
  }
  return out;
}

const SIGNS = { eq: "=", ne: "≠", gt: ">", gte: "≥", lt: "<", lte: "≤" };

/** A branch's condition in a few words, for its edge on the graph (the form says it in full). */
export function briefCondition(when) {
  if (!when || typeof when !== "object") return "";
  const parts = Object.entries(when).map(([key, value]) => {
    const name = key.replace(/^(account|person|properties)\./, "");
    if (value === null || typeof value !== "object" || Array.isArray(value)) return `${name} = ${value}`;
    if (["all", "any", "not", "people", "performed", "buying_group", "in_segment"].includes(key)) return key.replace("_", " ");
    const [op, v] = Object.entries(value)[0] || ["", ""];
    return `${name} ${SIGNS[op] || op} ${typeof v === "object" ? "…" : v}`;
  });
  const text = parts.join(", ");
  return text.length > 28 ? text.slice(0, 27) + "…" : text;
}

/** Nodes and edges of the model (an edge's `to` is null when its slot is empty). */
export function graphOf(model) {
  const nodes = (model && typeof model.nodes === "object" && model.nodes) || {};
  const edges = [{ from: ENTRY, path: ["start"], to: model && model.start ? model.start : null, label: "" }];
  for (const [id, node] of Object.entries(nodes)) {
    for (const slot of slotsOf(id, node)) edges.push({ from: id, ...slot });
  }
  return { nodes, edges };
}

export function freshId(model, kind) {
  const taken = new Set(Object.keys((model && model.nodes) || {}));
  const stem = kind.replace(/_/g, "-");
  for (let n = 1; ; n++) {
    const id = `${stem}-${n}`;
    if (!taken.has(id)) return id;
  }
}

/** A new node of `kind` going on to `to` (null: nowhere yet). */
export function newNode(kind, to, id) {
  const next = to ? { next: to } : {};
  switch (kind) {
    case "do": return { do: [], ...next };
    case "split": return { split: [{ else: to || "" }] };
    case "split_people": return { split_people: [{ else: to || "" }] };
    case "merge": return { merge: {}, ...next };
    case "wait": return { wait: "1d", ...next };
    case "wait_until": return { wait_until: { date: "account.renewal_date" }, ...next };
    case "wait_for": return { wait_for: { events: [], timeout: "7d" }, ...next };
    case "experiment": return { experiment: { name: id, variants: [
      { name: "A", weight: 1, ...(to ? { next: to } : {}) },
      { name: "B", weight: 1, ...(to ? { next: to } : {}) }] } };
    case "end": return { end: true };
    default: throw new Error(`unknown node kind ${kind}`);
  }
}

/** Ops that put a new node of `kind` on the edge `edge` (or after a node, `edge.to` null). */
export function insertOps(model, edge, kind) {
  const id = freshId(model, kind);
  return { id, ops: [
    { op: "set", path: ["nodes", id], value: newNode(kind, edge.to || null, id) },
    { op: "set", path: edge.path, value: id },
  ] };
}

/** Ops that delete node `id`, joining the edges into it to where it went (when one place). */
export function deleteOps(model, id) {
  const { edges } = graphOf(model);
  const outs = edges.filter((e) => e.from === id && e.to);
  const successor = outs.length ? outs[0].to : null;
  const ops = [];
  for (const edge of edges) {
    if (edge.to !== id || edge.from === id) continue;
    if (successor && successor !== id) ops.push({ op: "set", path: edge.path, value: successor });
    else if (edge.optional) ops.push({ op: "delete", path: edge.path });
    else ops.push({ op: "set", path: edge.path, value: "" });
  }
  ops.push({ op: "delete", path: ["nodes", id] });
  return ops;
}

/** Ops that take node `id` out of where it is (its way in joined to its way out) and put it on `edge`. */
export function moveOps(model, id, edge) {
  const node = model.nodes[id];
  const ops = [];
  const { edges } = graphOf(model);
  const own = slotsOf(id, node);
  const successor = (own.find((e) => e.to) || {}).to || null;
  for (const e of edges) {
    if (e.to === id && e.from !== id) {
      ops.push(successor ? { op: "set", path: e.path, value: successor }
        : e.optional ? { op: "delete", path: e.path } : { op: "set", path: e.path, value: "" });
    }
  }
  // Where it goes now: the edge's old target, through its first way out.
  const first = own[0];
  if (first) ops.push(edge.to ? { op: "set", path: first.path, value: edge.to } : { op: "delete", path: first.path });
  ops.push({ op: "set", path: edge.path, value: id });
  return ops;
}

/** `nodes.check.split[0].next` for ["nodes", "check", "split", 0, "next"] (the validator's places). */
export function placeOf(path) {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

/** The node a problem's place is about, if any. */
export function nodeOfPlace(place) {
  const found = /(?:^|\.)nodes\.([^.[\s]+)/.exec(place || "");
  return found ? found[1] : null;
}

/** Problems at `place` or under it. */
export function problemsAt(problems, place, exact = false) {
  return (problems || []).filter((p) => {
    const at = (p.place || "").replace(/^journeys\[0\]\./, "");
    return exact ? at === place : at === place || at.startsWith(place + ".") || at.startsWith(place + "[");
  });
}

/** A value typed in a box, as YAML would read it: numbers and booleans, else text. */
export function scalar(text) {
  const t = String(text).trim();
  if (t === "true") return true;
  if (t === "false") return false;
  if (t !== "" && /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return Number(t);
  return t;
}

export function shown(value) {
  if (value === undefined || value === null) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
