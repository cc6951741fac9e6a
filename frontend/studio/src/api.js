// The studio's calls: its drafts endpoints (/ui/studio/api/drafts/…) and the API's catalog,
// words and schema (/api/…). The UI session's cookie authenticates them, and writes carry the
// page's CSRF token in a header. No key is ever in the page. Writes go one at a time, each with
// the revision the previous one answered.

const ids = (list) => (list || []).map((x) => (x && typeof x === "object" ? x.id : x)).filter(Boolean);

/** The catalog (GET /api/workspace/catalog) as the forms' pick-lists: names only. */
export function pickLists(c) {
  const csms = ids(c.csms);
  return {
    segments: ids(c.segments), templates: ids(c.templates), csms, assignees: ["csm", ...csms],
    playbooks: ids(c.playbooks), role_templates: ids(c.role_templates), roles: c.roles || [],
    campaigns: [], journeys: ids(c.journeys), attributes: c.account_fields || [],
    person_attributes: c.person_fields || [], events: c.event_types || [], event_properties: [],
    solutions: [],
  };
}

export class StudioApi {
  constructor(base, csrf, draftId) {
    this.base = base;
    this.csrf = csrf;
    this.draftId = draftId;
    this.queue = Promise.resolve();
  }

  async call(method, path, body) {
    const response = await fetch(path.startsWith("/api/") ? path : this.base + path, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": this.csrf,
                 Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text }; }
    if (response.status === 401 || response.status === 303) {
      window.location.href = "/ui/login?next=" + encodeURIComponent(window.location.pathname);
    }
    if (!response.ok) {
      const error = new Error((data && (data.detail || data.title)) || `HTTP ${response.status}`);
      error.status = response.status;
      error.data = data;
      throw error;
    }
    return data;
  }

  /** Run `task` after every write before it (so each sees the latest revision). */
  serial(task) {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  draft() { return this.call("GET", `/drafts/${this.draftId}`); }
  edits(revision, edits) { return this.call("POST", `/drafts/${this.draftId}/edits`, { revision, edits }); }
  text(revision, text) { return this.call("POST", `/drafts/${this.draftId}/text`, { revision, text }); }
  // The pick-lists, words and schema are the API's own (the session authenticates there too).
  words(condition, scope) { return this.call("POST", "/api/conditions/words", { condition, scope }); }
  async catalog() { return pickLists(await this.call("GET", "/api/workspace/catalog")); }
  schema() { return this.call("GET", "/api/schema/journey"); }
}
