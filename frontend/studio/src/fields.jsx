// Small form fields of the studio. Each commits on `change` (leaving the box, Enter, choosing)
// by handing edit ops to `ctx.edit`; each shows the draft's problems at its place.
import { useState } from "preact/hooks";
import { placeOf, problemsAt, scalar, shown } from "./model.js";

/** The op that sets `path` to `value`: on the deepest part of `path` that exists in `model`
 * (so a value under a missing mapping brings the mapping with it). */
export function setOp(model, path, value) {
  let here = model;
  let depth = 0;
  for (; depth < path.length - 1; depth++) {
    if (here === null || typeof here !== "object" || !(path[depth] in here)) break;
    here = here[path[depth]];
  }
  let nested = value;
  for (let i = path.length - 1; i > depth; i--) nested = { [path[i]]: nested };
  return { op: "set", path: path.slice(0, depth + 1), value: nested };
}

export function getIn(model, path) {
  let here = model;
  for (const part of path) {
    if (here === null || typeof here !== "object") return undefined;
    here = here[part];
  }
  return here;
}

function plain(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

/** The fewest ops turning `old` (at `path`) into `value`: only what changed is written, so the
 * text keeps its comments and layout everywhere else (a whole condition is not rewritten when
 * one operator's value changes). */
export function diffOps(path, old, value) {
  if (JSON.stringify(old) === JSON.stringify(value)) return [];
  if (plain(old) && plain(value) && Object.keys(value).length) {
    const ops = [];
    for (const key of Object.keys(old)) if (!(key in value)) ops.push({ op: "delete", path: [...path, key] });
    for (const [key, v] of Object.entries(value)) {
      if (!(key in old)) ops.push({ op: "set", path: [...path, key], value: v });
      else ops.push(...diffOps([...path, key], old[key], v));
    }
    return ops;
  }
  if (Array.isArray(old) && Array.isArray(value) && old.length === value.length && value.length) {
    return value.flatMap((v, i) => diffOps([...path, i], old[i], v));
  }
  return [{ op: "set", path, value }];
}

/** Set `path` to `value`, or delete it when `value` is empty (undefined, "" or []). */
export function commit(ctx, path, value) {
  const empty = value === undefined || value === "" || (Array.isArray(value) && value.length === 0);
  const old = getIn(ctx.model, path);
  if (empty) {
    if (old !== undefined) ctx.edit([{ op: "delete", path }]);
    return;
  }
  if (old !== undefined) {
    const ops = diffOps(path, old, value);
    if (ops.length) ctx.edit(ops);
    return;
  }
  ctx.edit([setOp(ctx.model, path, value)]);
}

export function Problems({ ctx, path, exact = true }) {
  const found = problemsAt(ctx.problems, placeOf(path), exact);
  if (!found.length) return null;
  return (
    <ul class="field-problems" data-place={placeOf(path)}>
      {found.map((p) => <li class="problem">{p.message}</li>)}
    </ul>
  );
}

export function Row({ label, children, ctx, path, name }) {
  return (
    <div class="row" data-field={name || (path ? placeOf(path) : label)}>
      <label>
        <span class="row-label">{label}</span>
        {children}
      </label>
      {path ? <Problems ctx={ctx} path={path} /> : null}
    </div>
  );
}

export function TextField({ ctx, path, label, placeholder, list, multiline, name, required }) {
  const value = getIn(ctx.model, path);
  const onChange = (e) => {
    const text = e.currentTarget.value;
    commit(ctx, path, required ? text : text.trim() === "" ? undefined : text);
  };
  return (
    <Row label={label} ctx={ctx} path={path} name={name}>
      {multiline
        ? <textarea aria-label={label} rows="3" value={shown(value)} placeholder={placeholder} onChange={onChange} />
        : <input aria-label={label} value={shown(value)} placeholder={placeholder} list={list} onChange={onChange} />}
    </Row>
  );
}

export function NumberField({ ctx, path, label }) {
  const value = getIn(ctx.model, path);
  return (
    <Row label={label} ctx={ctx} path={path}>
      <input aria-label={label} type="number" step="any" value={shown(value)}
             onChange={(e) => commit(ctx, path, e.currentTarget.value === "" ? undefined : Number(e.currentTarget.value))} />
    </Row>
  );
}

export function SelectField({ ctx, path, label, options, optional = true, empty = "(none)" }) {
  const value = getIn(ctx.model, path);
  const all = [...options];
  if (value !== undefined && value !== null && value !== "" && !all.includes(value)) all.push(value);
  return (
    <Row label={label} ctx={ctx} path={path}>
      <select aria-label={label} value={shown(value)}
              onChange={(e) => commit(ctx, path, e.currentTarget.value === "" ? undefined : e.currentTarget.value)}>
        {optional || value === undefined || value === "" ? <option value="">{empty}</option> : null}
        {all.map((o) => <option value={o}>{o}</option>)}
      </select>
    </Row>
  );
}

const UNITS = [["s", "seconds"], ["m", "minutes"], ["h", "hours"], ["d", "days"], ["w", "weeks"]];

/** A duration as a number and a unit ("30d"); `signed` allows before (-) as for offsets. */
export function DurationField({ ctx, path, label, signed = false, optional = true }) {
  const value = getIn(ctx.model, path);
  const found = /^([+-]?)(\d+)([smhdw])$/.exec(shown(value));
  const [sign, number, unit] = found ? [found[1] === "-" ? "-" : "", found[2], found[3]] : ["", "", "d"];
  const send = (s, n, u) => {
    if (n === "" || n === undefined) { if (optional) commit(ctx, path, undefined); return; }
    commit(ctx, path, `${s}${parseInt(n, 10)}${u}`);
  };
  return (
    <Row label={label} ctx={ctx} path={path}>
      <span class="duration">
        {signed ? (
          <select aria-label={`${label} direction`} value={sign} onChange={(e) => send(e.currentTarget.value, number, unit)}>
            <option value="">after</option><option value="-">before</option>
          </select>
        ) : null}
        <input aria-label={`${label} amount`} type="number" min="0" step="1" value={number}
               onChange={(e) => send(sign, e.currentTarget.value, unit)} />
        <select aria-label={`${label} unit`} value={unit} onChange={(e) => send(sign, number, e.currentTarget.value)}>
          {UNITS.map(([u, words]) => <option value={u}>{words}</option>)}
        </select>
      </span>
    </Row>
  );
}

export function CheckField({ ctx, path, label }) {
  const value = getIn(ctx.model, path);
  return (
    <div class="row check" data-field={placeOf(path)}>
      <label><input type="checkbox" aria-label={label} checked={value === true}
                    onChange={(e) => commit(ctx, path, e.currentTarget.checked ? true : undefined)} /> {label}</label>
      <Problems ctx={ctx} path={path} />
    </div>
  );
}

/** A list of names chosen from `options` (checkboxes), e.g. entry segments or unenroll_from. */
export function MultiPick({ ctx, path, label, options }) {
  const value = getIn(ctx.model, path);
  const chosen = Array.isArray(value) ? value : [];
  const all = [...options, ...chosen.filter((c) => !options.includes(c))];
  const toggle = (name, on) => {
    const next = on ? [...chosen, name] : chosen.filter((c) => c !== name);
    commit(ctx, path, next);
  };
  return (
    <div class="row multi" data-field={placeOf(path)}>
      <span class="row-label">{label}</span>
      <div class="choices">
        {all.length ? all.map((o) => (
          <label class="choice"><input type="checkbox" aria-label={`${label}: ${o}`} checked={chosen.includes(o)}
                                       onChange={(e) => toggle(o, e.currentTarget.checked)} /> {o}</label>
        )) : <span class="muted small">none in the workspace</span>}
      </div>
      <Problems ctx={ctx} path={path} />
    </div>
  );
}

/** A list of free names typed comma-separated (e.g. a wait's events). */
export function ListField({ ctx, path, label, list, placeholder }) {
  const value = getIn(ctx.model, path);
  const text = Array.isArray(value) ? value.join(", ") : shown(value);
  return (
    <Row label={label} ctx={ctx} path={path}>
      <input aria-label={label} value={text} list={list} placeholder={placeholder}
             onChange={(e) => commit(ctx, path, e.currentTarget.value.split(",").map((s) => s.trim()).filter(Boolean))} />
    </Row>
  );
}

/** A mapping of names to values (set, increase, a webhook's body): one op per pair. */
export function PairsField({ ctx, path, label, keyPlaceholder = "account.attribute", numbers = false, keyList }) {
  const value = getIn(ctx.model, path);
  const pairs = value && typeof value === "object" ? Object.entries(value) : [];
  const [adding, setAdding] = useState(false);
  const read = (t) => (numbers ? Number(t) : scalar(t));
  return (
    <div class="row pairs" data-field={placeOf(path)}>
      <span class="row-label">{label}</span>
      {pairs.map(([k, v]) => (
        <div class="pair" data-key={k}>
          <code>{k}</code>
          <input aria-label={`${label} ${k}`} value={shown(v)}
                 onChange={(e) => ctx.edit([{ op: "set", path: [...path, k], value: read(e.currentTarget.value) }])} />
          <button type="button" class="link" title="Remove" onClick={() => ctx.edit([{ op: "delete", path: [...path, k] }])}>×</button>
        </div>
      ))}
      {adding ? (
        <div class="pair pending">
          <input aria-label={`${label} new name`} placeholder={keyPlaceholder} list={keyList} />
          <input aria-label={`${label} new value`} placeholder="value" />
          <button type="button" class="small" onClick={(e) => {
            const row = e.currentTarget.parentElement;
            const [k, v] = [...row.querySelectorAll("input")].map((i) => i.value);
            if (!k.trim()) return;
            setAdding(false);
            commit(ctx, [...path, k.trim()], read(v));
          }}>Add</button>
        </div>
      ) : <button type="button" class="small" data-add-pair={label} onClick={() => setAdding(true)}>+ {label.toLowerCase()}</button>}
      <Problems ctx={ctx} path={path} />
    </div>
  );
}
