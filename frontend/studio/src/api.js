// The studio's calls to its own JSON endpoints (/ui/studio/api/…): the UI session's cookie
// authenticates them, and writes carry the page's CSRF token in a header. No key is ever in the
// page. Writes go one at a time, each with the revision the previous one answered.

export class StudioApi {
  constructor(base, csrf, draftId) {
    this.base = base;
    this.csrf = csrf;
    this.draftId = draftId;
    this.queue = Promise.resolve();
  }

  async call(method, path, body) {
    const response = await fetch(this.base + path, {
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
  words(condition, scope) { return this.call("POST", "/words", { condition, scope }); }
  catalog() { return this.call("GET", "/catalog"); }
  schema() { return this.call("GET", "/schema"); }
}
