"""Issue 13's content approval in a real browser (headless Debian chromium, Playwright) against
the real service, with two people who sign in with their own names: the editor drafts a
template in the template editor and submits it; the approver rejects it with a comment; the
editor sees the comment, fixes it and submits again; the approver approves and publishes it;
the journey sends it; the audit log shows each step with who did it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect
from studio_site import served_in_chromium

from itinera.api import create_app
from itinera.runtime import ManualClock, Service
from itinera.storage import schema as t
from itinera.storage import users

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
PASSWORDS = {"edna": "edna's long password", "abe": "abe's long password"}
WELCOME = {"id": "welcome", "subject": "Welcome", "text": "Hi {{ person.first_name }}"}
JOURNEY = {"id": "welcome", "entry": {"event": {"type": "signed_up"}}, "start": "send",
           "nodes": {"send": {"do": [{"send_email": {"template": "welcome", "to": "all"}}]}}}


@dataclass
class Site:
    base: str
    browser: Browser
    service: Service

    def page(self, name: str) -> Page:
        page = self.browser.new_page(viewport={"width": 1360, "height": 900})
        page.goto(f"{self.base}/ui/login")
        page.fill("#name", name)
        page.fill("#password", PASSWORDS[name])
        with page.expect_navigation():
            page.click("#password-form button[type=submit]")
        assert "/ui/login" not in page.url, page.content()
        return page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    database = tmp_path_factory.mktemp("review") / "store.db"
    service = Service(f"sqlite:///{database}", ManualClock(NOW))
    try:
        # The journey runs before the workflow is turned on; from then on its template needs
        # an approved review of its content.
        service.submit([
            {"configure": {"templates": [WELCOME]}},
            {"load_world": {"accounts": [{"id": "acme", "attributes": {"name": "Acme"}}],
                            "people": [{"id": "ada", "account": "acme", "email": "ada@acme.test",
                                        "attributes": {"first_name": "Ada"}}]}},
            {"publish": JOURNEY}, {"enable": "welcome"},
            {"configure": {"approval": {"templates": True, "four_eyes": True}}}])
        while service.work():
            pass
        with service.intake.engine.begin() as connection:
            users.create_user(connection, "edna", PASSWORDS["edna"], "editor", NOW)
            users.create_user(connection, "abe", PASSWORDS["abe"], "approver", NOW)
        with served_in_chromium(create_app(service), service) as (base, browser):
            yield Site(base, browser, service)
    finally:
        service.close()


def _emails(site: Site) -> list[tuple[str, str | None, str | None]]:
    with site.service.intake.engine.connect() as connection:
        rows = connection.execute(sa.select(t.effects.c.status, t.effects.c.payload).where(
            t.effects.c.channel == "email").order_by(t.effects.c.id))
        return [(r.status, r.payload.get("reason"), r.payload.get("subject")) for r in rows]


def _edit(page: Page, subject: str) -> None:
    page.get_by_role("link", name="Templates", exact=True).click()
    page.get_by_label("Template").select_option("welcome")
    page.locator("#edit-subject").fill(subject)
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#template-note")).to_contain_text("Draft saved")
    expect(page.locator("#review-state")).to_have_text("draft")


def _submit(page: Page, note: str) -> None:
    page.get_by_label("Note for the reviewer").fill(note)
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("#review-state")).to_have_text("pending")


def _decide(page: Page, button: str, comment: str) -> None:
    page.get_by_role("link", name="Reviews", exact=True).click()
    pending = page.locator("section[data-state=pending]")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("submitted by user:edna")
    pending.get_by_label("Comment").fill(comment)
    pending.get_by_role("button", name=button).click()
    expect(page.locator(".flash.ok")).to_contain_text(f"{button.lower()}ed".replace("ee", "e"))


def test_draft_submit_reject_fix_approve_send_and_audit(site: Site) -> None:
    editor, approver = site.page("edna"), site.page("abe")
    editor.get_by_role("link", name="Templates", exact=True).click()
    # Under the workflow the file's approval does not count: no review, not approved.
    expect(editor.get_by_label("Template")).to_contain_text("welcome (not approved)")

    _edit(editor, "Welcome to Acme")
    _submit(editor, "First cut")
    _decide(approver, "Reject", "Greet them by name")

    editor.reload()
    expect(editor.locator("#review-state")).to_have_text("rejected")
    expect(editor.locator("#review-panel")).to_contain_text("Greet them by name")
    _edit(editor, "Welcome, {{ person.first_name }}")
    _submit(editor, "Fixed")
    _decide(approver, "Approve", "Good")

    approver.get_by_role("link", name="Templates", exact=True).click()
    approver.get_by_label("Template").select_option("welcome")
    expect(approver.locator("#review-state")).to_have_text("approved")
    approver.get_by_role("button", name="Publish").click()
    expect(approver.locator("#template-note")).to_contain_text("Published")
    expect(approver.get_by_label("Template")).not_to_contain_text("not approved")

    # The journey sends the approved content.
    site.service.submit([{"event": {"id": "e1", "type": "signed_up", "account": "acme"}}])
    deadline = time.monotonic() + 30
    while not _emails(site) and time.monotonic() < deadline:
        time.sleep(0.1)
    [(status, reason, _subject)] = _emails(site)
    assert status != "skipped" and reason is None, (status, reason)

    approver.get_by_role("link", name="Audit", exact=True).click()
    rows = approver.locator("#audit tbody tr")
    expect(rows.first).to_be_visible()
    steps = [(row.get_attribute("data-kind"), row.locator("td").nth(1).inner_text())
             for row in rows.all()]
    assert [s for s in steps if s[0] in ("submit", "reject", "approve", "template_edit")] == [
        ("template_edit", "user:abe"), ("approve", "user:abe"), ("submit", "user:edna"),
        ("reject", "user:abe"), ("submit", "user:edna")]
    approver.get_by_label("Who").fill("user:edna")
    approver.get_by_role("button", name="Filter").click()
    # Hers: the draft she made and changed, and her two submissions.
    expect(approver.locator("#audit tbody tr")).to_have_count(4)
    assert sorted(row.get_attribute("data-kind") or "" for row in
                  approver.locator("#audit tbody tr").all()) == [
        "draft_change", "draft_create", "submit", "submit"]
