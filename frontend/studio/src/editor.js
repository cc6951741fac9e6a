// The YAML beside the graph: CodeMirror 6 with the YAML language, completion and lint from the
// journey's JSON Schema (codemirror-json-schema), and the draft's own problems (those of
// `itinera validate`) shown inline at their line and column.
import { basicSetup } from "codemirror";
import { EditorView } from "@codemirror/view";
import { EditorState, Annotation } from "@codemirror/state";
import { linter, lintGutter } from "@codemirror/lint";
import { yaml } from "@codemirror/lang-yaml";
import { yamlSchema } from "codemirror-json-schema/yaml";

const fromServer = Annotation.define();

function serverProblems(getProblems) {
  return linter((view) => {
    const doc = view.state.doc;
    return (getProblems() || []).map((p) => {
      let from = 0;
      if (p.line && p.line >= 1 && p.line <= doc.lines) {
        const line = doc.line(p.line);
        from = Math.min(line.from + Math.max((p.column || 1) - 1, 0), line.to);
        const to = line.to > from ? line.to : Math.min(from + 1, doc.length);
        return { from, to, severity: "error", message: `${p.place}: ${p.message}`, source: "itinera validate" };
      }
      return { from: 0, to: Math.min(1, doc.length), severity: "error", message: `${p.place}: ${p.message}`, source: "itinera validate" };
    });
  }, { delay: 100 });
}

export function makeEditor(parent, { text, schema, getProblems, onEdit }) {
  const extensions = [
    basicSetup,
    schema ? yamlSchema(schema) : yaml(),
    lintGutter(),
    serverProblems(getProblems),
    EditorView.updateListener.of((update) => {
      if (!update.docChanged) return;
      if (update.transactions.some((tr) => tr.annotation(fromServer))) return;
      onEdit(update.state.doc.toString());
    }),
    EditorView.theme({ "&": { height: "100%" }, ".cm-scroller": { overflow: "auto" } }),
  ];
  const view = new EditorView({ state: EditorState.create({ doc: text, extensions }), parent });
  return {
    view,
    /** Show `text` (the draft the server answered) unless it is what the editor holds already. */
    show(next) {
      const current = view.state.doc.toString();
      if (current === next) return;
      const head = Math.min(view.state.selection.main.head, next.length);
      view.dispatch({ changes: { from: 0, to: current.length, insert: next }, selection: { anchor: head },
                      annotations: fromServer.of(true) });
    },
    text() { return view.state.doc.toString(); },
    refreshProblems() { view.dispatch({ annotations: fromServer.of(true) }); },
  };
}
