// The journey studio: the draft's graph (the editor), the form of the selected node, the YAML
// beside them, the draft's problems, and the test panel. The page's server-rendered shell gives
// the draft id, the API base and the CSRF token in `#studio-root`'s data attributes.
import "./studio.css";
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { StudioApi } from "./api.js";
import { GraphView } from "./graph.jsx";
import { JourneyForm, NodeForm } from "./forms.jsx";
import { makeEditor } from "./editor.js";
import { ENTRY, insertOps, KIND_LABELS, NODE_KINDS, nodeOfPlace } from "./model.js";

function Palette({ edge, onPick, onClose }) {
  return (
    <div class="palette" role="dialog" aria-label="Add a node">
      <div class="palette-head"><strong>Add a node</strong>
        <span class="muted small">{edge.from === ENTRY ? "after the entry" : `after ${edge.from}`}{edge.to ? ` before ${edge.to}` : ""}</span>
        <button type="button" class="link" onClick={onClose}>Close</button></div>
      <div class="palette-kinds">
        {NODE_KINDS.map((k) => <button type="button" data-kind={k} class={`kind kind-${k}`} onClick={() => onPick(k)}>{KIND_LABELS[k]}</button>)}
      </div>
    </div>
  );
}

function Datalists({ catalog }) {
  const lists = {
    "studio-fields-account": (catalog.attributes || []).map((a) => `account.${a}`),
    "studio-fields-person": [...(catalog.person_attributes || []).map((a) => `person.${a}`), ...(catalog.attributes || []).map((a) => `account.${a}`)],
    "studio-fields-event": (catalog.event_properties || []).map((a) => `properties.${a}`),
    "studio-events": catalog.events || [],
    "studio-solutions": catalog.solutions || [],
  };
  return Object.entries(lists).map(([id, values]) => <datalist id={id}>{values.map((v) => <option value={v} />)}</datalist>);
}

function Studio({ api, boot }) {
  const [draft, setDraft] = useState(null);
  const [catalog, setCatalog] = useState({});
  const [schema, setSchema] = useState(null);
  const [selected, setSelected] = useState(ENTRY);
  const [palette, setPalette] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(0);
  const [counts, setCounts] = useState(null);
  const [showTests, setShowTests] = useState(false);
  const editorHost = useRef(null);
  const editor = useRef(null);
  const draftRef = useRef(null);
  const typing = useRef(null);

  const accept = (next) => { draftRef.current = next; setDraft(next); setError(null); };

  useEffect(() => {
    api.draft().then(accept, (e) => setError(e.message));
    api.catalog().then(setCatalog, () => setCatalog({}));
    api.schema().then(setSchema, () => setSchema(false));
  }, []);

  // The code editor, once the draft and the schema are known; then kept in step with the draft.
  useEffect(() => {
    if (!draft || schema === null || editor.current || !editorHost.current) return;
    editor.current = makeEditor(editorHost.current, {
      text: draft.text, schema: schema || null, getProblems: () => (draftRef.current || {}).problems,
      onEdit: (text) => {
        clearTimeout(typing.current);
        typing.current = setTimeout(() => sendText(text), 600);
      },
    });
  }, [draft, schema]);
  useEffect(() => {
    if (draft && editor.current) {
      if (!typing.current || editor.current.text() === draft.text) editor.current.show(draft.text);
      editor.current.refreshProblems();
    }
  }, [draft]);

  const pending = useRef(0);
  const run = (task) => {
    // Marked at once (not at the next render) so that a test, or a person, never sees "Saved"
    // between a gesture and its answer.
    pending.current += 1;
    const host = document.querySelector(".studio");
    if (host) host.dataset.busy = "yes";
    setBusy((b) => b + 1);
    return api.serial(task).then(accept, (e) => {
      const message = e.status === 409 ? "The draft changed elsewhere: reloaded." : e.message;
      return api.draft().then((d) => { accept(d); setError(message); });
    }).finally(() => {
      pending.current -= 1;
      setBusy((b) => b - 1);
    });
  };
  const edit = (ops) => run(() => api.edits(draftRef.current.revision, ops));
  const sendText = (text) => {
    typing.current = null;
    if (draftRef.current && text === draftRef.current.text) return;
    run(() => api.text(draftRef.current.revision, text));
  };

  // Backtest counts the test panel (studio-checks) leaves in the page, drawn on the graph.
  useEffect(() => {
    const host = document.getElementById("studio-tests");
    if (!host) return undefined;
    const read = () => {
      const found = host.querySelector("[data-node-counts]");
      try { setCounts(found ? JSON.parse(found.getAttribute("data-node-counts")) : null); } catch { setCounts(null); }
    };
    const watcher = new MutationObserver(read);
    watcher.observe(host, { childList: true, subtree: true, attributes: true });
    return () => watcher.disconnect();
  }, [draft !== null]); // the panel exists once the draft is shown

  if (!draft) return <div class="studio-loading">{error ? <p class="flash error">{error}</p> : "Loading the draft…"}</div>;
  const model = draft.model && typeof draft.model === "object" ? draft.model : null;
  const problems = draft.problems || [];
  const ctx = { model: model || {}, problems, catalog, edit, api, operators: operatorsOf(schema), countOps: countOpsOf(schema) };
  const addAt = (edge) => setPalette(edge);
  const pick = (kind) => {
    const { id, ops } = insertOps(model, palette, kind);
    setPalette(null);
    edit(ops).then(() => setSelected(id));
  };
  const importFile = (file) => file.text().then((text) => run(() => api.text(draftRef.current.revision, text)));

  return (
    <div class="studio" data-revision={draft.revision} data-busy={busy > 0 || pending.current > 0 ? "yes" : "no"} data-problems={problems.length}>
      <Datalists catalog={catalog} />
      <div class="studio-bar">
        <div>
          <p class="crumbs"><a href="/ui/journeys">Journeys</a> / <a href="/ui/studio">Drafts</a> /</p>
          <h1>{(model && (model.name || model.id)) || "Untitled journey"} <span class="badge">draft</span></h1>
        </div>
        <div class="controls">
          <span class={`status-dot ${busy ? "busy" : "saved"}`} aria-live="polite">{busy ? "Saving…" : `Saved · revision ${draft.revision}`}</span>
          <label class="button">Import<input type="file" accept=".yaml,.yml" hidden aria-label="Import a journey file"
                                             onChange={(e) => e.currentTarget.files[0] && importFile(e.currentTarget.files[0])} /></label>
          <a class="button" href={`${boot.base}/drafts/${draft.id}/export`} download>Export</a>
          <button type="button" aria-pressed={showTests} onClick={() => {
            setShowTests(!showTests);
            if (!showTests) setTimeout(loadTests, 0);
          }}>Test</button>
          {problems.length
            ? <button type="button" class="primary" disabled title="Fix the problems first" data-publish="disabled">Publish</button>
            : <a class="button primary" href={`/ui/drafts/${draft.id}/publish`} data-publish="enabled">Publish</a>}
        </div>
      </div>
      {error ? <p class="flash error" role="alert">{error}</p> : null}
      <div class="studio-body">
        <div class="studio-left">
          <div class="studio-canvas" onClick={() => setSelected(ENTRY)}>
            {model ? <GraphView model={model} problems={problems} selected={selected} counts={counts}
                                onSelect={setSelected} onAdd={addAt} entryLabel={entryLabel(model)} />
              : <p class="muted">The file does not parse: fix it in the YAML below.</p>}
            {palette ? <Palette edge={palette} onPick={pick} onClose={() => setPalette(null)} /> : null}
          </div>
          <div class="studio-yaml" id="studio-yaml" ref={editorHost} />
        </div>
        <aside class="studio-side">
          <div id="studio-form" class="card">
            {!model ? <p class="muted">No form while the file does not parse.</p>
              : selected === ENTRY || !(model.nodes && selected in model.nodes)
                ? <JourneyForm ctx={ctx} />
                : <NodeForm ctx={ctx} id={selected} key={selected} onRenamed={setSelected} onDeleted={() => setSelected(ENTRY)} />}
          </div>
          <div class="card problems" id="studio-problems">
            <h2>Problems <span class="badge">{problems.length}</span></h2>
            {problems.length ? (
              <ul>
                {problems.map((p) => (
                  <li class="problem" data-place={p.place}>
                    <a href="#" onClick={(e) => { e.preventDefault(); const n = nodeOfPlace(p.place); setSelected(n && model && model.nodes && n in model.nodes ? n : ENTRY); }}>
                      <code>{p.place}</code></a>{p.line ? <span class="muted small"> line {p.line}</span> : null}: {p.message}
                  </li>
                ))}
              </ul>
            ) : <p class="muted small">None: the draft validates.</p>}
          </div>
          <div class="card tests" id="studio-test-panel" hidden={!showTests}>
            <h2>Test</h2>
            <div id="studio-tests" hx-get={`/ui/drafts/${draft.id}/tests`} hx-trigger="studio-tests" hx-swap="innerHTML" />
            <button type="button" class="small" onClick={() => loadTests()}>Reload the test panel</button>
          </div>
        </aside>
      </div>
    </div>
  );
}

function loadTests() {
  const host = document.getElementById("studio-tests");
  if (window.htmx && host) { window.htmx.process(host); window.htmx.trigger(host, "studio-tests"); }
}

function entryLabel(model) {
  const entry = model.entry || {};
  if (entry.segments && entry.segments.length) return `in ${entry.segments.join(", ")}`;
  if (entry.event && entry.event.type) return `on ${entry.event.type}`;
  return "";
}

function operatorsOf(schema) {
  const ops = schema && schema.$defs && schema.$defs.ConditionOperators;
  const found = ops && ops.anyOf && ops.anyOf.find((a) => a.properties);
  const list = found ? Object.keys(found.properties) : ["gt", "gte", "lt", "lte", "ne", "in", "nin", "exists"];
  return ["eq", ...list.filter((o) => o !== "eq")];
}

function countOpsOf(schema) {
  const count = schema && schema.$defs && schema.$defs.ConditionCount;
  const found = count && count.anyOf && count.anyOf.find((a) => a.properties);
  return found ? Object.keys(found.properties) : ["eq", "ne", "gt", "gte", "lt", "lte"];
}

const root = document.getElementById("studio-root");
if (root) {
  const boot = { base: root.dataset.api, csrf: root.dataset.csrf, draft: root.dataset.draft };
  render(<Studio api={new StudioApi(boot.base, boot.csrf, boot.draft)} boot={boot} />, root);
}
