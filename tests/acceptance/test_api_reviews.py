"""The approval workflow over the API, on SQLite and PostgreSQL: with `approval.templates`
and `four_eyes` on, a journey sending an unreviewed template is refused at validate and
publish (422 naming the review state at the template's place); the editor submits it, cannot
approve it themselves, the approver rejects it with a comment, the fixed content is submitted
and approved; the journey publishes and sends it; changing the template makes it a draft again
and the engine skips it (`template_not_approved`) until it is approved anew. Each step is in
the audit log."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from api_support import Api, open_api

from itinera.storage import schema as t

WELCOME = {"id": "welcome", "subject": "Welcome, {{ account.name }}", "text": "Hi"}
WELCOME_FIXED = {**WELCOME, "text": "Hi, and welcome aboard"}
JOURNEY: dict[str, Any] = {
    "id": "welcome", "entry": {"event": {"type": "signed_up"}}, "start": "send",
    "nodes": {"send": {"do": [{"send_email": {"template": "welcome", "to": "all"}}]}},
}
PLACE = "nodes.send.do[0].send_email.template"


def _configure(api: Api, template: dict[str, Any], **approval: bool) -> None:
    body: dict[str, Any] = {"templates": [template]}
    if approval:
        body["approval"] = approval
    response = api.post("/api/inputs", [{"configure": body}])
    assert response.status_code == 200, response.text


def _as(api: Api, key: str, path: str, body: Any = None) -> Any:
    return api.client.post(path, json=body, headers={"Authorization": f"Bearer {key}"})


def _emails(api: Api) -> list[tuple[str, str | None]]:
    with api.service.intake.engine.connect() as connection:
        rows = connection.execute(sa.select(t.effects.c.status, t.effects.c.payload).where(
            t.effects.c.channel == "email").order_by(t.effects.c.id))
        return [(r.status, r.payload.get("reason")) for r in rows]


def _signup(api: Api, account: str) -> None:
    assert api.post("/api/accounts", [{"id": account, "attributes": {"name": account}}]
                    ).status_code == 200
    assert api.post("/api/people", [{"id": f"{account}-p", "account": account,
                                     "email": f"p@{account}.test"}]).status_code == 200
    assert api.post("/api/events", [{"id": f"{account}-e", "type": "signed_up",
                                     "account": account}]).status_code == 200


def test_submit_reject_fix_approve_send_and_change_again(database_url: str) -> None:
    with open_api(database_url) as api:
        _, editor = api.new_key("editor", "write")
        _, approver = api.new_key("approver", "admin")  # no key but admin's approves
        _configure(api, WELCOME, templates=True, four_eyes=True)

        for path in ("/api/journeys/validate", "/api/journeys"):
            refused = api.post(path, JOURNEY)
            assert refused.status_code == 422, refused.text
            [problem] = refused.json()["errors"]
            assert problem["place"] == PLACE
            assert "template 'welcome' is not approved (review state: draft)" in problem["message"]

        submitted = _as(api, editor, "/api/reviews", {"kind": "template", "object_id": "welcome",
                                                      "note": "first cut"})
        assert submitted.status_code == 201, submitted.text
        first = submitted.json()
        assert (first["state"], first["submitted_by"]["label"]) == ("pending", "key:editor")
        assert first["content"]["text"] == "Hi"
        again = _as(api, editor, "/api/reviews", {"kind": "template", "object_id": "welcome"})
        assert again.status_code == 409
        state = api.get("/api/reviews/state", kind="template", object_id="welcome")
        assert (state["required"], state["state"]) == (True, "pending")
        assert "review state: pending" in api.post("/api/journeys", JOURNEY).text

        own = _as(api, editor, f"/api/reviews/{first['id']}/approve", {})
        assert own.status_code == 403 and "approver" in own.json()["detail"]  # a write key

        silent = _as(api, approver, f"/api/reviews/{first['id']}/reject", {})
        assert silent.status_code == 422
        rejected = _as(api, approver, f"/api/reviews/{first['id']}/reject",
                       {"comment": "Say welcome aboard"})
        assert rejected.status_code == 200, rejected.text
        assert (rejected.json()["state"], rejected.json()["comment"]) == ("rejected",
                                                                           "Say welcome aboard")
        late = _as(api, approver, f"/api/reviews/{first['id']}/approve", {})
        assert late.status_code == 409
        assert "review state: rejected" in api.post("/api/journeys", JOURNEY).text

        _configure(api, WELCOME_FIXED)  # the editor fixes it: new content, a draft again
        assert api.get("/api/reviews/state", kind="template",
                       object_id="welcome")["state"] == "draft"
        second = _as(api, editor, "/api/reviews", {"kind": "template",
                                                   "object_id": "welcome"}).json()
        approved = _as(api, approver, f"/api/reviews/{second['id']}/approve",
                       {"comment": "Good"})
        assert approved.status_code == 200, approved.text
        state = api.get("/api/reviews/state", kind="template", object_id="welcome")
        assert state["state"] == "approved"
        assert [(r["state"], r["comment"]) for r in state["reviews"]] == [
            ("approved", "Good"), ("rejected", "Say welcome aboard")]
        assert [r["id"] for r in api.get("/api/reviews", state="pending")["items"]] == []

        assert api.post("/api/journeys", JOURNEY).status_code == 200
        assert api.post("/api/journeys/welcome/enable", None).status_code == 200
        _signup(api, "acme")
        assert _emails(api) == [("pending", None)]  # approved: on its way

        _configure(api, {**WELCOME_FIXED, "subject": "Changed after approval"})
        assert api.get("/api/reviews/state", kind="template",
                       object_id="welcome")["state"] == "draft"
        _signup(api, "globex")
        assert _emails(api) == [("pending", None), ("skipped", "template_not_approved")]

        trail = api.get("/api/audit", object_kind="template", object_id="welcome")["items"]
        assert [(e["kind"], e["actor"]["label"]) for e in trail if e["kind"] in (
            "submit", "approve", "reject")] == [
            ("approve", "key:approver"), ("submit", "key:editor"), ("reject", "key:approver"),
            ("submit", "key:editor")]
        assert trail[0]["kind"] == "template_edit"


def test_approved_journeys_and_the_file_flag_under_the_workflow(database_url: str) -> None:
    with open_api(database_url) as api:
        # Without the workflow the file's `approved` decides, as before.
        _configure(api, {**WELCOME, "approved": False})
        assert api.get("/api/reviews/state", kind="template",
                       object_id="welcome")["state"] == "not_required"
        assert api.post("/api/journeys", JOURNEY).status_code == 200
        # Journeys under review: the content published must be the approved one.
        _configure(api, {**WELCOME, "approved": True}, journeys=True)
        changed = {**JOURNEY, "name": "Welcome v2"}
        refused = api.post("/api/journeys", changed)
        assert refused.status_code == 422
        assert "journey 'welcome' is not approved (review state: draft)" in refused.text
        # Four eyes is off: one key may submit and approve (a journey as stored is reviewed;
        # a draft's content is reviewed with draft_id).
        review = api.post("/api/reviews", {"kind": "journey", "object_id": "welcome"},
                          wait=False).json()
        assert api.post(f"/api/reviews/{review['id']}/approve", None,
                        wait=False).status_code == 200
        assert api.post("/api/journeys", JOURNEY).status_code == 200  # the approved content
        assert api.post("/api/journeys", changed).status_code == 422
        missing = api.post("/api/reviews", {"kind": "journey", "object_id": "nope"}, wait=False)
        assert missing.status_code == 404


def test_a_template_draft_is_reviewed_then_published(database_url: str) -> None:
    with open_api(database_url) as api:
        _configure(api, WELCOME, templates=True)
        made = api.post("/api/drafts", {"kind": "template", "from": "text", "text": (
            "id: welcome\nsubject: 'Welcome, {{ account.name }}'\ntext: Hello there\n")},
            wait=False)
        assert made.status_code == 201, made.text
        draft = made.json()
        refused = api.post(f"/api/drafts/{draft['id']}/publish", {})
        assert refused.status_code == 422
        assert "template 'welcome' is not approved (review state: draft)" in refused.text
        submitted = api.post("/api/reviews", {"kind": "template", "object_id": "welcome",
                                              "draft_id": draft["id"]}, wait=False).json()
        assert (submitted["draft_id"], submitted["content"]["text"]) == (draft["id"],
                                                                          "Hello there")
        state = api.get("/api/reviews/state", kind="template", object_id="welcome",
                        draft_id=draft["id"])
        assert state["state"] == "pending"
        # The template as applied is another content: still a draft.
        assert api.get("/api/reviews/state", kind="template",
                       object_id="welcome")["state"] == "draft"
        assert "review state: pending" in api.post(f"/api/drafts/{draft['id']}/publish",
                                                   {}).text
        assert api.post(f"/api/reviews/{submitted['id']}/approve", None,
                        wait=False).status_code == 200
        published = api.post(f"/api/drafts/{draft['id']}/publish", {})
        assert published.status_code == 200, published.text
        assert api.get("/api/reviews/state", kind="template",
                       object_id="welcome")["state"] == "approved"
        kinds = [e["kind"] for e in api.get("/api/audit")["items"]]
        assert kinds[:4] == ["workspace_apply", "template_edit", "approve", "submit"]
