// The condition builder: a condition of the language (a mapping whose keys must all hold) as rows
// of clauses — a field with its operators, `all`/`any` groups, `not`, `in_segment`, `people`,
// `performed`, `buying_group` — nested as deep as the language allows, and the condition in
// words (said by the server, with the language's own parser). Operators and counts come from
// the JSON Schema, so the builder offers exactly what the language has.
import { useEffect, useState } from "preact/hooks";
import { scalar, shown } from "./model.js";

const GROUP_FIELDS = ["engagement_score", "completeness_score", "status"];
const EXTRA = {
  account: ["people", "performed", "buying_group"],
  person: ["performed"],
  event: [],
  group: [],
};
const CLAUSE_LABELS = {
  field: "field", all: "all of", any: "any of", not: "not", in_segment: "in segment",
  people: "people", performed: "performed", buying_group: "buying group",
};
const PREFIX = { account: "account.", person: "person.", event: "properties.", group: "" };

function isField(key, scope) {
  if (scope === "group") return GROUP_FIELDS.includes(key);
  return /^(account|person|properties)\./.test(key);
}

function opsOf(value) {
  if (value && typeof value === "object" && !Array.isArray(value)) return Object.entries(value);
  return [["eq", value]];
}

function fromOps(ops) {
  if (ops.length === 1 && ops[0][0] === "eq" && (ops[0][1] === null || typeof ops[0][1] !== "object")) return ops[0][1];
  return Object.fromEntries(ops);
}

function parseValue(op, text) {
  if (op === "in" || op === "nin") return String(text).split(",").map((s) => s.trim()).filter((s) => s !== "").map(scalar);
  if (op === "exists") return text === "true" || text === true;
  if (["within_next", "within_last", "older_than", "before", "after", "eq_ci", "contains_ci", "starts_with", "ends_with"].includes(op)) return String(text).trim();
  return scalar(text);
}

function valueText(op, value) {
  if (Array.isArray(value)) return value.map(shown).join(", ");
  return shown(value);
}

export function CountEditor({ value, onChange, countOps, label = "count", name }) {
  const [op, n] = value === undefined || value === null ? ["gte", 1]
    : typeof value === "number" ? ["exactly", value] : Object.entries(value)[0] || ["gte", 1];
  const commit = (newOp, newN) => {
    const number = parseInt(newN, 10);
    if (Number.isNaN(number)) return;
    onChange(newOp === "exactly" ? number : { [newOp]: number });
  };
  return (
    <span class="count-editor" data-field={name || "count"}>
      <span class="muted">{label}</span>
      <select aria-label={`${label} comparison`} value={op} onChange={(e) => commit(e.currentTarget.value, n)}>
        {["exactly", ...countOps].map((o) => <option value={o}>{o}</option>)}
      </select>
      <input type="number" aria-label={`${label} number`} value={n} min="0" step="1"
             onChange={(e) => commit(op, e.currentTarget.value)} />
    </span>
  );
}

function FieldClause({ name, value, onRename, onChange, onRemove, ctx, scope }) {
  const ops = opsOf(value);
  const setOp = (i, op, text) => {
    const next = ops.slice();
    next[i] = [op, parseValue(op, text)];
    onChange(fromOps(next));
  };
  const unused = ctx.operators.find((o) => !ops.some(([k]) => k === o)) || "eq";
  return (
    <div class="clause field-clause" data-clause="field" data-name={name}>
      {scope === "group" ? (
        <select aria-label="field" value={name} onChange={(e) => onRename(e.currentTarget.value)}>
          {GROUP_FIELDS.map((f) => <option value={f}>{f}</option>)}
        </select>
      ) : (
        <input class="field-name" aria-label="field" value={name} list={`studio-fields-${scope}`}
               onChange={(e) => onRename(e.currentTarget.value.trim())} />
      )}
      <div class="ops">
        {ops.map(([op, v], i) => (
          <div class="op-row" data-op={op}>
            <select aria-label="operator" value={op}
                    onChange={(e) => setOp(i, e.currentTarget.value, e.currentTarget.value === "exists" ? "true" : valueText(op, v))}>
              {ctx.operators.map((o) => <option value={o} disabled={o !== op && ops.some(([k]) => k === o)}>{o}</option>)}
            </select>
            {op === "exists" ? (
              <select aria-label="value" value={String(v)} onChange={(e) => setOp(i, op, e.currentTarget.value)}>
                <option value="true">true</option><option value="false">false</option>
              </select>
            ) : (
              <input class="value" aria-label="value" value={valueText(op, v)} placeholder={op === "in" || op === "nin" ? "a, b, c" : "value"}
                     onChange={(e) => setOp(i, op, e.currentTarget.value)} />
            )}
            {ops.length > 1 ? <button type="button" class="link" title="Remove this operator"
                                      onClick={() => onChange(fromOps(ops.filter((_, j) => j !== i)))}>×</button> : null}
          </div>
        ))}
        <button type="button" class="link small" onClick={() => onChange(fromOps([...ops, [unused, unused === "exists" ? true : ""]]))}>+ operator</button>
      </div>
      <button type="button" class="link remove" title="Remove this clause" onClick={onRemove}>Remove</button>
    </div>
  );
}

function ListClause({ kind, items, onChange, ctx, scope }) {
  const list = Array.isArray(items) ? items : [];
  return (
    <div class={`group-items`} data-group={kind}>
      {list.map((item, i) => (
        <div class="group-item">
          <ConditionBuilder value={item} scope={scope} ctx={ctx} nested
                            onChange={(v) => { const next = list.slice(); next[i] = v ?? {}; onChange(next); }} />
          <button type="button" class="link remove" onClick={() => onChange(list.filter((_, j) => j !== i))}>Remove condition</button>
        </div>
      ))}
      <button type="button" class="small" data-add-item={kind} onClick={() => onChange([...list, {}])}>+ condition in “{CLAUSE_LABELS[kind]}”</button>
    </div>
  );
}

function Clause({ keyName, value, scope, ctx, onChange, onRename, onRemove }) {
  if (isField(keyName, scope) || (!(keyName in CLAUSE_LABELS))) {
    return <FieldClause name={keyName} value={value} onRename={onRename} onChange={onChange} onRemove={onRemove} ctx={ctx} scope={scope} />;
  }
  let body;
  switch (keyName) {
    case "all": case "any":
      body = <ListClause kind={keyName} items={value} onChange={onChange} ctx={ctx} scope={scope} />;
      break;
    case "not":
      body = <ConditionBuilder value={value} scope={scope} ctx={ctx} nested onChange={(v) => onChange(v ?? {})} />;
      break;
    case "in_segment":
      body = (
        <select aria-label="segment" value={value || ""} onChange={(e) => onChange(e.currentTarget.value)}>
          <option value="">(choose a segment)</option>
          {(ctx.catalog.segments || []).map((s) => <option value={s}>{s}</option>)}
        </select>
      );
      break;
    case "people": {
      const v = value && typeof value === "object" ? value : {};
      body = (
        <div class="sub-form">
          <div class="muted small">people of the account matching</div>
          <ConditionBuilder value={v.match} scope="person" ctx={ctx} nested
                            onChange={(m) => onChange(m === undefined ? (({ match, ...rest }) => rest)(v) : { ...v, match: m })} />
          <CountEditor value={v.count} countOps={ctx.countOps} label="how many" name="people.count"
                       onChange={(c) => onChange({ ...v, count: c })} />
        </div>
      );
      break;
    }
    case "performed": {
      const v = value && typeof value === "object" ? value : {};
      body = (
        <div class="sub-form">
          <label>event <input aria-label="performed event" list="studio-events" value={v.event || ""}
                              onChange={(e) => onChange({ ...v, event: e.currentTarget.value.trim() })} /></label>
          <label>within the last <input aria-label="within the last" class="short" value={v.within_last || ""} placeholder="30d"
                                        onChange={(e) => { const t = e.currentTarget.value.trim(); const { within_last, ...rest } = v; onChange(t ? { ...v, within_last: t } : rest); }} /></label>
          <CountEditor value={v.count} countOps={ctx.countOps} label="times" name="performed.count"
                       onChange={(c) => onChange({ ...v, count: c })} />
          <details open={!!v.where}><summary class="small">where (the event's properties)</summary>
            <ConditionBuilder value={v.where} scope="event" ctx={ctx} nested
                              onChange={(w) => { const { where, ...rest } = v; onChange(w === undefined ? rest : { ...v, where: w }); }} />
          </details>
        </div>
      );
      break;
    }
    case "buying_group": {
      const v = value && typeof value === "object" ? value : {};
      body = (
        <div class="sub-form">
          <label>solution <input aria-label="solution" list="studio-solutions" value={v.solution || ""}
                                 onChange={(e) => onChange({ ...v, solution: e.currentTarget.value.trim() })} /></label>
          <ConditionBuilder value={v.match} scope="group" ctx={ctx} nested
                            onChange={(m) => { const { match, ...rest } = v; onChange(m === undefined ? rest : { ...v, match: m }); }} />
        </div>
      );
      break;
    }
    default:
      body = <code>{shown(value)}</code>;
  }
  return (
    <div class={`clause clause-${keyName}`} data-clause={keyName}>
      <span class="clause-label">{CLAUSE_LABELS[keyName]}</span>
      {body}
      <button type="button" class="link remove" title="Remove this clause" onClick={onRemove}>Remove</button>
    </div>
  );
}

const DEFAULTS = {
  all: () => [{}], any: () => [{}], not: () => ({}), in_segment: (ctx) => (ctx.catalog.segments || [])[0] || "",
  people: () => ({ match: {}, count: { gte: 1 } }), performed: () => ({ event: "" }),
  buying_group: (ctx) => ({ solution: (ctx.catalog.solutions || [])[0] || "" }),
};

/** Edits `value` (a condition mapping, or undefined) and calls `onChange` with the whole new
 * condition (undefined when emptied at the top). */
export function ConditionBuilder({ value, scope = "account", ctx, onChange, nested = false, label }) {
  const [pending, setPending] = useState(null); // a new field clause until it has a name
  const entries = value && typeof value === "object" && !Array.isArray(value) ? Object.entries(value) : [];
  const keys = entries.map(([k]) => k);
  const replace = (list) => onChange(list.length || nested ? Object.fromEntries(list) : undefined);
  const kinds = ["all", "any", "not", "in_segment", ...EXTRA[scope]].filter((k) => !keys.includes(k));
  return (
    <div class={`condition${nested ? " nested" : ""}`} data-scope={scope}>
      {label ? <div class="condition-label">{label}</div> : null}
      {entries.map(([k, v], i) => (
        <Clause keyName={k} value={v} scope={scope} ctx={ctx}
                onChange={(nv) => { const list = entries.slice(); list[i] = [k, nv]; replace(list); }}
                onRename={(nk) => { if (!nk || keys.includes(nk)) return; const list = entries.slice(); list[i] = [nk, v]; replace(list); }}
                onRemove={() => replace(entries.filter((_, j) => j !== i))} />
      ))}
      {pending !== null ? (
        <div class="clause field-clause pending" data-clause="new-field">
          {scope === "group" ? (
            <select aria-label="new field" value={pending} onChange={(e) => setPending(e.currentTarget.value)}>
              <option value="">(field)</option>
              {GROUP_FIELDS.filter((f) => !keys.includes(f)).map((f) => <option value={f}>{f}</option>)}
            </select>
          ) : (
            <input class="field-name" aria-label="new field" value={pending} list={`studio-fields-${scope}`} placeholder={`${PREFIX[scope]}…`}
                   onInput={(e) => setPending(e.currentTarget.value)} />
          )}
          <select aria-label="new operator" id="pending-op">
            {ctx.operators.map((o) => <option value={o}>{o}</option>)}
          </select>
          <input class="value" aria-label="new value" placeholder="value" />
          <button type="button" class="small" data-commit="field" onClick={(e) => {
            const row = e.currentTarget.parentElement;
            const name = (pending || "").trim();
            const op = row.querySelector("select[aria-label='new operator']").value;
            const text = row.querySelector("input[aria-label='new value']").value;
            if (!name || keys.includes(name)) return;
            setPending(null);
            replace([...entries, [name, fromOps([[op, parseValue(op, op === "exists" && !text ? "true" : text)]])]]);
          }}>Add</button>
          <button type="button" class="link" onClick={() => setPending(null)}>Cancel</button>
        </div>
      ) : null}
      <div class="add-clause">
        <span class="muted small">add</span>
        <button type="button" class="small" data-add-clause="field" onClick={() => setPending(PREFIX[scope])}>field</button>
        {kinds.map((k) => (
          <button type="button" class="small" data-add-clause={k}
                  onClick={() => replace([...entries, [k, DEFAULTS[k](ctx)]])}>{CLAUSE_LABELS[k]}</button>
        ))}
      </div>
      {!nested ? <Words value={value} scope={scope} ctx={ctx} /> : null}
    </div>
  );
}

function Words({ value, scope, ctx }) {
  const [words, setWords] = useState("");
  const key = JSON.stringify(value ?? null);
  useEffect(() => {
    if (value === undefined || value === null || (typeof value === "object" && !Object.keys(value).length)) {
      setWords("");
      return undefined;
    }
    let live = true;
    const timer = setTimeout(() => {
      ctx.api.words(value, scope).then((r) => { if (live) setWords(r.words); }, () => { if (live) setWords(""); });
    }, 150);
    return () => { live = false; clearTimeout(timer); };
  }, [key, scope]);
  return words ? <p class="words" data-words="condition">In words: {words}</p> : null;
}
