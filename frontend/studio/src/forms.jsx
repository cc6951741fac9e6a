// The form of the selected node, fitted to its kind, and the journey's own rules (entry,
// re-entry, goal, exit, unenroll_from). Every change is an edit op on the draft.
import { useState } from "preact/hooks";
import { ConditionBuilder } from "./condition.jsx";
import {
  CheckField, DurationField, getIn, ListField, MultiPick, NumberField, PairsField, Problems, Row,
  SelectField, TextField, commit, setOp,
} from "./fields.jsx";
import { graphOf, kindOf, KIND_LABELS, ENTRY, moveOps, placeOf, deleteOps } from "./model.js";

const ACTIONS = {
  send_email: { label: "Send an email", fields: [["template", "pick", "templates"], ["to", "target"]], default: (c) => ({ template: first(c.templates) }) },
  create_task: { label: "Create a task", fields: [["title", "text"], ["assignee", "pick", "assignees"], ["due", "duration"], ["notes", "multiline"]], default: () => ({ title: "" }) },
  set: { label: "Set attributes", pairs: true, default: () => ({}) },
  increase: { label: "Increase attributes", pairs: true, numbers: true, default: () => ({}) },
  copy: { label: "Copy an attribute", fields: [["from", "text"], ["to", "text"]], default: () => ({ from: "account.", to: "account." }) },
  clear: { label: "Clear an attribute", scalar: "text", default: () => "account." },
  assign_csm: { label: "Assign a CSM", fields: [["strategy", "select", ["round_robin", "least_loaded", "fixed"]], ["pool", "list"], ["csm", "pick", "csms"]], default: () => ({ strategy: "round_robin" }) },
  assign_playbook: { label: "Assign a playbook", scalar: "playbooks", default: (c) => first(c.playbooks) },
  add_moment: { label: "Add a moment", fields: [["type", "text"], ["description", "text"]], default: () => ({ type: "Milestone" }) },
  set_buying_group_status: { label: "Set a buying group's status", fields: [["solution", "text"], ["status", "text"]], default: () => ({ solution: "", status: "" }) },
  webhook: { label: "Call a webhook", fields: [["url", "text"], ["method", "select", ["GET", "POST", "PUT", "PATCH", "DELETE"]], ["body", "pairs"]], default: () => ({ url: "https://" }) },
  add_to_buying_group: { label: "Add to a buying group", fields: [["solution", "text"], ["role", "pick", "roles"], ["template", "pick", "role_templates"], ["to", "target"]], default: () => ({ solution: "", role: "" }) },
  change_score: { label: "Change a score", fields: [["by", "number"], ["to", "target"]], default: () => ({ by: 1 }) },
  add_to_campaign: { label: "Add to a campaign", fields: [["campaign", "pick", "campaigns"], ["to", "target"]], default: (c) => ({ campaign: first(c.campaigns) }) },
};

function first(list) { return (list && list[0]) || ""; }

/** Who an action reaches: the path's people (default), everyone, a role, or people matching a condition. */
function TargetField({ ctx, path }) {
  const value = getIn(ctx.model, path);
  const mode = value === undefined || value === null ? "" : typeof value === "string" ? value
    : value.role !== undefined ? "role" : "condition";
  const choose = (m) => {
    if (m === "") commit(ctx, path, undefined);
    else if (m === "path_people" || m === "all") commit(ctx, path, m);
    else if (m === "role") commit(ctx, path, { role: first(ctx.catalog.roles) });
    else commit(ctx, path, { "person.decision_maker": true });
  };
  return (
    <div class="row target" data-field={placeOf(path)}>
      <label><span class="row-label">to</span>
        <select aria-label="to" value={mode} onChange={(e) => choose(e.currentTarget.value)}>
          <option value="">the path's people (default)</option>
          <option value="path_people">the path's people</option>
          <option value="all">everyone at the account</option>
          <option value="role">people with a role</option>
          <option value="condition">people matching…</option>
        </select>
      </label>
      {mode === "role" ? <SelectField ctx={ctx} path={[...path, "role"]} label="role" options={ctx.catalog.roles || []} optional={false} /> : null}
      {mode === "condition" ? <ConditionBuilder value={value} scope="person" ctx={ctx} onChange={(v) => commit(ctx, path, v)} /> : null}
      <Problems ctx={ctx} path={path} />
    </div>
  );
}

function ActionEditor({ ctx, path, action, index, count }) {
  const kind = action && typeof action === "object" ? Object.keys(action)[0] : null;
  const spec = ACTIONS[kind] || null;
  const here = [...path, index, kind];
  const listPath = path;
  let body = null;
  if (!spec) body = <p class="muted">{JSON.stringify(action)}</p>;
  else if (spec.pairs) body = <PairsField ctx={ctx} path={here} label={kind === "increase" ? "Increase" : "Set"} numbers={spec.numbers} keyList="studio-fields-account" />;
  else if (spec.scalar === "text") body = <TextField ctx={ctx} path={here} label="attribute" required />;
  else if (spec.scalar) body = <SelectField ctx={ctx} path={here} label={kind.replace(/_/g, " ")} options={ctx.catalog[spec.scalar] || []} optional={false} />;
  else {
    body = spec.fields.map(([field, type, extra]) => {
      const p = [...here, field];
      switch (type) {
        case "text": return <TextField ctx={ctx} path={p} label={field} />;
        case "multiline": return <TextField ctx={ctx} path={p} label={field} multiline />;
        case "number": return <NumberField ctx={ctx} path={p} label={field} />;
        case "duration": return <DurationField ctx={ctx} path={p} label={field} />;
        case "select": return <SelectField ctx={ctx} path={p} label={field} options={extra} />;
        case "pick": return <SelectField ctx={ctx} path={p} label={field} options={ctx.catalog[extra] || []} />;
        case "list": return <ListField ctx={ctx} path={p} label={field} />;
        case "pairs": return <PairsField ctx={ctx} path={p} label={field} keyPlaceholder="name" />;
        case "target": return <TargetField ctx={ctx} path={p} />;
        default: return null;
      }
    });
  }
  return (
    <div class="action card-inner" data-action={kind} data-index={index}>
      <div class="action-head">
        <strong>{spec ? spec.label : kind}</strong>
        <span class="spacer" />
        <button type="button" class="link" title="Up" disabled={index === 0}
                onClick={() => ctx.edit([{ op: "move", path: listPath, from: index, to: index - 1 }])}>↑</button>
        <button type="button" class="link" title="Down" disabled={index === count - 1}
                onClick={() => ctx.edit([{ op: "move", path: listPath, from: index, to: index + 1 }])}>↓</button>
        <button type="button" class="link danger" onClick={() => ctx.edit([{ op: "delete", path: [...path, index] }])}>Remove</button>
      </div>
      {body}
      <Problems ctx={ctx} path={[...path, index]} />
    </div>
  );
}

function DoForm({ ctx, id }) {
  const path = ["nodes", id, "do"];
  const actions = getIn(ctx.model, path) || [];
  return (
    <div class="do-form">
      {actions.map((a, i) => <ActionEditor ctx={ctx} path={path} action={a} index={i} count={actions.length} />)}
      <div class="row">
        <label><span class="row-label">Add an action</span>
          <select aria-label="Add an action" value="" onChange={(e) => {
            const kind = e.currentTarget.value;
            if (!kind) return;
            e.currentTarget.value = "";
            ctx.edit([{ op: "insert", path, index: actions.length, value: { [kind]: ACTIONS[kind].default(ctx.catalog) } }]);
          }}>
            <option value="">(choose)</option>
            {Object.entries(ACTIONS).map(([k, a]) => <option value={k}>{a.label}</option>)}
          </select>
        </label>
      </div>
    </div>
  );
}

function NextField({ ctx, path, label = "then go to", id }) {
  const nodes = Object.keys(ctx.model.nodes || {}).filter((n) => n !== id);
  return <SelectField ctx={ctx} path={path} label={label} options={nodes} empty="(the journey ends)" />;
}

function SplitForm({ ctx, id, kind }) {
  const path = ["nodes", id, kind];
  const branches = getIn(ctx.model, path) || [];
  const scope = kind === "split_people" ? "person" : "account";
  const elseAt = branches.findIndex((b) => b && typeof b === "object" && "else" in b);
  const nodes = Object.keys(ctx.model.nodes || {}).filter((n) => n !== id);
  return (
    <div class="split-form">
      {branches.map((branch, i) => {
        const isElse = branch && typeof branch === "object" && "else" in branch;
        return (
          <div class="branch card-inner" data-branch={i}>
            <div class="action-head">
              <strong>{isElse ? "Otherwise" : `Branch ${i + 1}`}</strong>
              <span class="spacer" />
              <button type="button" class="link" title="Up" disabled={i === 0}
                      onClick={() => ctx.edit([{ op: "move", path, from: i, to: i - 1 }])}>↑</button>
              <button type="button" class="link" title="Down" disabled={i === branches.length - 1}
                      onClick={() => ctx.edit([{ op: "move", path, from: i, to: i + 1 }])}>↓</button>
              <button type="button" class="link danger" onClick={() => ctx.edit([{ op: "delete", path: [...path, i] }])}>Remove</button>
            </div>
            {isElse ? (
              <SelectField ctx={ctx} path={[...path, i, "else"]} label="go to" options={nodes} optional={false} />
            ) : (
              <>
                <ConditionBuilder value={branch.when} scope={scope} ctx={ctx} label="when"
                                  onChange={(v) => commit(ctx, [...path, i, "when"], v ?? {})} />
                <Problems ctx={ctx} path={[...path, i, "when"]} />
                <SelectField ctx={ctx} path={[...path, i, "next"]} label="go to" options={nodes} optional={false} />
              </>
            )}
            <Problems ctx={ctx} path={[...path, i]} />
          </div>
        );
      })}
      <div class="buttons">
        <button type="button" class="small" data-add-branch="when" onClick={() => ctx.edit([{
          op: "insert", path, index: elseAt < 0 ? branches.length : elseAt, value: { when: {}, next: "" } }])}>+ branch</button>
        {elseAt < 0 ? <button type="button" class="small" data-add-branch="else"
                              onClick={() => ctx.edit([{ op: "insert", path, index: branches.length, value: { else: "" } }])}>+ otherwise</button> : null}
      </div>
    </div>
  );
}

function ExperimentForm({ ctx, id }) {
  const path = ["nodes", id, "experiment"];
  const variants = getIn(ctx.model, [...path, "variants"]) || [];
  const nodes = Object.keys(ctx.model.nodes || {}).filter((n) => n !== id);
  return (
    <div>
      <TextField ctx={ctx} path={[...path, "name"]} label="experiment name" required />
      {variants.map((_, i) => (
        <div class="card-inner" data-variant={i}>
          <TextField ctx={ctx} path={[...path, "variants", i, "name"]} label="variant" required />
          <NumberField ctx={ctx} path={[...path, "variants", i, "weight"]} label="weight" />
          <SelectField ctx={ctx} path={[...path, "variants", i, "next"]} label="go to" options={nodes} />
          <button type="button" class="link danger" onClick={() => ctx.edit([{ op: "delete", path: [...path, "variants", i] }])}>Remove variant</button>
        </div>
      ))}
      <button type="button" class="small" onClick={() => ctx.edit([{ op: "insert", path: [...path, "variants"], index: variants.length,
        value: { name: String.fromCharCode(65 + variants.length), weight: 1, next: first(nodes) } }])}>+ variant</button>
    </div>
  );
}

function WaitUntilForm({ ctx, id }) {
  const path = ["nodes", id, "wait_until"];
  const value = getIn(ctx.model, path) || {};
  const mode = value.at !== undefined ? "at" : "date";
  return (
    <div>
      <Row label="until" ctx={ctx}>
        <select aria-label="wait until" value={mode} onChange={(e) => ctx.edit([{ op: "set", path,
          value: e.currentTarget.value === "at" ? { at: "2026-01-01T09:00:00Z" } : { date: "account.renewal_date" } }])}>
          <option value="date">a date of the account</option>
          <option value="at">a fixed instant</option>
        </select>
      </Row>
      {mode === "date" ? (
        <>
          <TextField ctx={ctx} path={[...path, "date"]} label="date attribute" list="studio-fields-account" required />
          <DurationField ctx={ctx} path={[...path, "offset"]} label="offset" signed />
        </>
      ) : <TextField ctx={ctx} path={[...path, "at"]} label="instant" placeholder="2026-03-01T09:00:00Z" required />}
      <Problems ctx={ctx} path={path} />
    </div>
  );
}

function WaitForForm({ ctx, id }) {
  const path = ["nodes", id, "wait_for"];
  const value = getIn(ctx.model, path) || {};
  return (
    <div>
      <ListField ctx={ctx} path={[...path, "events"]} label="events" list="studio-events" placeholder="renewal.quote_accepted, …" />
      <SelectField ctx={ctx} path={[...path, "scope"]} label="whose events" options={["path_people", "account"]} empty="the path's people (default)" />
      <ConditionBuilder value={value.where} scope="event" ctx={ctx} label="where (the event's properties)"
                        onChange={(v) => commit(ctx, [...path, "where"], v)} />
      <ConditionBuilder value={value.condition} scope="account" ctx={ctx} label="or until the account matches"
                        onChange={(v) => commit(ctx, [...path, "condition"], v)} />
      <Problems ctx={ctx} path={[...path, "condition"]} />
      <DurationField ctx={ctx} path={[...path, "timeout"]} label="timeout" />
      <Problems ctx={ctx} path={path} />
    </div>
  );
}

function MoveTo({ ctx, id }) {
  const edges = graphOf(ctx.model).edges.filter((e) => e.to && e.from !== id && e.to !== id);
  return (
    <Row label="Move to" ctx={ctx}>
      <select aria-label="Move to" value="" onChange={(e) => {
        const edge = edges[parseInt(e.currentTarget.value, 10)];
        if (edge) ctx.edit(moveOps(ctx.model, id, edge));
      }}>
        <option value="">(between …)</option>
        {edges.map((e, i) => <option value={String(i)}>{e.from === ENTRY ? "entry" : e.from} → {e.to}{e.label ? ` (${e.label})` : ""}</option>)}
      </select>
    </Row>
  );
}

export function NodeForm({ ctx, id, onRenamed, onDeleted }) {
  const node = ctx.model.nodes && ctx.model.nodes[id];
  const [renaming, setRenaming] = useState(null);
  if (!node) return <p class="muted">No node {id}.</p>;
  const kind = kindOf(node);
  let body = null;
  switch (kind) {
    case "do": body = <DoForm ctx={ctx} id={id} />; break;
    case "split": case "split_people": body = <SplitForm ctx={ctx} id={id} kind={kind} />; break;
    case "wait": body = <DurationField ctx={ctx} path={["nodes", id, "wait"]} label="wait" optional={false} />; break;
    case "wait_until": body = <WaitUntilForm ctx={ctx} id={id} />; break;
    case "wait_for": body = <WaitForForm ctx={ctx} id={id} />; break;
    case "experiment": body = <ExperimentForm ctx={ctx} id={id} />; break;
    default: body = null;
  }
  const hasNext = kind && !["end", "split", "split_people", "experiment"].includes(kind);
  return (
    <div class="node-form" data-form-node={id} data-form-kind={kind}>
      <div class="form-head">
        <h2>{KIND_LABELS[kind] || "Node"}</h2>
        <button type="button" class="danger small" onClick={() => { ctx.edit(deleteOps(ctx.model, id)); onDeleted(); }}>Delete node</button>
      </div>
      <Row label="id" ctx={ctx}>
        <input aria-label="node id" value={renaming ?? id} onInput={(e) => setRenaming(e.currentTarget.value)}
               onChange={(e) => {
                 const to = e.currentTarget.value.trim();
                 setRenaming(null);
                 if (to && to !== id) { ctx.edit([{ op: "rename_node", from: id, to }]); onRenamed(to); }
               }} />
      </Row>
      <TextField ctx={ctx} path={["nodes", id, "name"]} label="name" />
      {body}
      {hasNext ? <NextField ctx={ctx} path={["nodes", id, "next"]} id={id} /> : null}
      {kind === "wait_for" ? <NextField ctx={ctx} path={["nodes", id, "on_timeout"]} label="on timeout go to" id={id} /> : null}
      <TextField ctx={ctx} path={["nodes", id, "description"]} label="description" multiline />
      <MoveTo ctx={ctx} id={id} />
      <Problems ctx={ctx} path={["nodes", id]} />
    </div>
  );
}

export function JourneyForm({ ctx }) {
  const m = ctx.model;
  const entry = m.entry || {};
  const reenroll = entry.reenroll;
  const mode = reenroll && typeof reenroll === "object" ? "after" : reenroll || "never";
  const journeys = (ctx.catalog.journeys || []).filter((j) => j !== m.id);
  return (
    <div class="journey-form" data-form-node={ENTRY}>
      <h2>Journey</h2>
      <TextField ctx={ctx} path={["id"]} label="journey id" required />
      <TextField ctx={ctx} path={["name"]} label="name" />
      <TextField ctx={ctx} path={["description"]} label="description" multiline />
      <fieldset data-section="entry"><legend>Who enters</legend>
        <MultiPick ctx={ctx} path={["entry", "segments"]} label="segments" options={ctx.catalog.segments || []} />
        <TextField ctx={ctx} path={["entry", "event", "type"]} label="or on the event" list="studio-events" />
        {entry.event ? <ConditionBuilder value={entry.event.where} scope="event" ctx={ctx} label="where"
                                         onChange={(v) => commit(ctx, ["entry", "event", "where"], v)} /> : null}
        <CheckField ctx={ctx} path={["entry", "existing"]} label="accounts already in the segments enter too" />
        <Row label="re-entry" ctx={ctx} path={["entry", "reenroll"]}>
          <select aria-label="re-entry" value={mode} onChange={(e) => {
            const v = e.currentTarget.value;
            ctx.edit([setOp(m, ["entry", "reenroll"], v === "after" ? { after: "30d" } : v)]);
          }}>
            <option value="never">never</option><option value="always">always</option><option value="after">after some time</option>
          </select>
        </Row>
        {mode === "after" ? <DurationField ctx={ctx} path={["entry", "reenroll", "after"]} label="re-enter after" optional={false} /> : null}
        <Problems ctx={ctx} path={["entry"]} />
      </fieldset>
      <fieldset data-section="goal"><legend>Goal</legend>
        {m.goal ? (
          <>
            <ConditionBuilder value={m.goal.when} scope="account" ctx={ctx} label="reached when"
                              onChange={(v) => commit(ctx, ["goal", "when"], v ?? {})} />
            <SelectField ctx={ctx} path={["goal", "on_met"]} label="when met" options={["exit", "continue"]} empty="exit (default)" />
            <button type="button" class="link danger" onClick={() => ctx.edit([{ op: "delete", path: ["goal"] }])}>Remove the goal</button>
          </>
        ) : <button type="button" class="small" data-add="goal" onClick={() => ctx.edit([{ op: "set", path: ["goal"], value: { when: {} } }])}>+ goal</button>}
        <Problems ctx={ctx} path={["goal"]} />
      </fieldset>
      <fieldset data-section="exit"><legend>Exit</legend>
        <ConditionBuilder value={m.exit && m.exit.when} scope="account" ctx={ctx} label="leave when"
                          onChange={(v) => commit(ctx, ["exit", "when"], v)} />
        <CheckField ctx={ctx} path={["exit", "on_segment_exit"]} label="leave when no longer in the entry segments" />
        <MultiPick ctx={ctx} path={["exit", "unenroll_from"]} label="entering unenrolls from" options={journeys} />
        <Problems ctx={ctx} path={["exit"]} />
      </fieldset>
      <Problems ctx={ctx} path={["start"]} />
    </div>
  );
}
