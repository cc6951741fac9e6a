"""The studio's checks in a real browser (headless Debian chromium driven by Playwright)
against the real service: a segment edited in the segment editor, its count and sample
following the condition as it is typed; and a template edited, previewed and sent as a test
email that arrives at an SMTP server on loopback (aiosmtpd), marked as a test."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from studio_site import served_in_chromium

from integration.smtp_server import Collector, start
from itinera.api import create_app
from itinera.channels.settings import SmtpSettings
from itinera.runtime import ManualClock, Service
from itinera.storage import keys

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
SCREENSHOTS = (DOCS_SCREENSHOTS if os.environ.get("ITINERA_SCREENSHOTS")
               else Path(tempfile.gettempdir()) / "itinera-screenshots")
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
WORKSPACE = {
    "csms": [{"id": "ann", "name": "Ann Lee"}],
    "segments": [{"id": "large", "when": {"account.employees": {"gte": 1000}}}],
    "templates": [{"id": "welcome", "subject": "Welcome, {{ account.name }}",
                   "text": "Hi {{ person.first_name }}, {{ csm.name }} here."}],
}
# 40 accounts: every fourth is large; every tenth in Berlin.
ACCOUNTS = [{"id": f"acc-{i:02}", "csm": "ann",
             "attributes": {"name": f"Account {i:02}", "employees": 5000 if i % 4 == 0 else 20,
                            "city": "Berlin" if i % 10 == 0 else "Lyon"}} for i in range(40)]
PEOPLE = [{"id": "ada", "account": "acc-04", "email": "ada@acc.test",
           "attributes": {"first_name": "Ada"}}]


@dataclass
class Site:
    base: str
    key: str
    browser: Browser
    mail: Collector

    def page(self) -> Page:
        page = self.browser.new_page(viewport={"width": 1360, "height": 900})
        page.goto(f"{self.base}/ui/login")
        page.fill("#key", self.key)
        with page.expect_navigation():
            page.click("form[action='/ui/login'] button[type=submit]")
        assert "/ui/login" not in page.url, page.content()
        return page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    database = tmp_path_factory.mktemp("studio-checks") / "store.db"
    service = Service(f"sqlite:///{database}", ManualClock(NOW))
    collector = Collector()
    try:
        service.submit([{"configure": WORKSPACE},
                        {"load_world": {"accounts": ACCOUNTS, "people": PEOPLE}}])
        while service.work():
            pass
        with service.intake.engine.begin() as connection:
            _, key = keys.create_api_key(connection, "editor", datetime.now(UTC), "write")
        for smtp_port in start(collector):
            smtp = SmtpSettings(host="127.0.0.1", port=smtp_port, starttls=False,
                                from_address="studio@vendor.test", timeout=5)
            with served_in_chromium(create_app(service, smtp=smtp), service) as (base, browser):
                yield Site(base, key, browser, collector)
    finally:
        service.close()


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=False)


def test_editing_a_segment_changes_its_count_and_sample(site: Site) -> None:
    page = site.page()
    page.get_by_role("link", name="Segments", exact=True).click()
    row = page.locator("#segments tr", has_text="large")
    expect(row).to_contain_text("10")  # its members now
    row.get_by_role("link", name="Edit").click()
    count, sample = page.locator("#segment-count"), page.locator("#segment-sample")
    expect(count).to_have_text("10")
    expect(sample).to_contain_text("Account 00")
    # Narrow it to Berlin: typed, the panel follows by itself.
    editor = page.locator("#segment-text")
    editor.fill("id: large\nwhen:\n  account.employees: {gte: 1000}\n  account.city: Berlin\n")
    expect(count).to_have_text("2")  # acc-00 and acc-20
    expect(sample.locator("tr")).to_have_count(2)
    expect(sample).to_contain_text("Account 20")
    _shot(page, "segment-editor.png")
    # A mistake is shown at its place, and fixing it brings the count back.
    editor.fill("id: large\nwhen:\n  account.employees: {biggest: 3}\n")
    expect(page.locator("#segment-problems")).to_contain_text("when.account.employees")
    editor.fill("id: large\nwhen:\n  account.employees: {lt: 1000}\n")
    expect(count).to_have_text("30")
    # Kept as a draft (the editor opens on it again), then published into the workspace.
    editor.fill("id: large\nwhen:\n  account.employees: {gte: 1000}\n  account.city: Berlin\n")
    expect(count).to_have_text("2")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#segment-saved")).to_contain_text("Draft saved")
    expect(page.locator("#segment-text")).to_have_value(
        "id: large\nwhen:\n  account.employees: {gte: 1000}\n  account.city: Berlin\n")
    expect(page.locator("#publish-segment")).to_contain_text("revision 1")
    page.get_by_role("button", name="Publish").click()
    expect(page).to_have_url(f"{site.base}/ui/segments")
    expect(page.locator("#segments tr", has_text="large")).to_contain_text("Berlin")
    # The draft is gone: the editor opens on the published segment, nothing to publish.
    page.locator("#segments tr", has_text="large").get_by_role("link", name="Edit").click()
    expect(page.locator("#segment-count")).to_have_text("2")
    expect(page.locator("#publish-segment")).to_have_count(0)


def test_a_template_edited_and_sent_as_a_test_arrives(site: Site) -> None:
    page = site.page()
    page.get_by_role("link", name="Templates", exact=True).click()
    page.get_by_label("Template").select_option("welcome")
    page.get_by_label("Person").fill("ada")
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.locator("#preview")).to_contain_text("Welcome, Account 04")
    # Edited: the preview follows as it is typed.
    page.locator("#edit-subject").fill("Hello {{ person.first_name }} at {{ account.name }}")
    expect(page.locator("#preview")).to_contain_text("Hello Ada at Account 04")
    page.locator("#test-to").fill("me@vendor.test")
    page.get_by_role("button", name="Send test").click()
    expect(page.locator("#test-email-outcome")).to_contain_text("Sent to me@vendor.test")
    _shot(page, "template-test-email.png")
    deadline = time.monotonic() + 10
    while not site.mail.received and time.monotonic() < deadline:
        time.sleep(0.05)
    (received,) = site.mail.received
    assert received.rcpt_tos == ["me@vendor.test"]
    assert received.message["Subject"] == "[TEST] Hello Ada at Account 04"
    assert received.message["X-Itinera-Test"] == "1"
    # A bad address is refused and said so; nothing more is sent.
    page.locator("#test-to").fill("not-an-address@x")
    page.locator("#test-to").evaluate("e => e.type = 'text'")  # past the browser's own check
    page.get_by_role("button", name="Send test").click()
    expect(page.locator("#test-email-outcome")).to_contain_text("Not sent")
    assert len(site.mail.received) == 1
    # Kept as the template's draft (the page reopens on it), then published.
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#template-note")).to_contain_text("Draft saved")
    expect(page.locator("#edit-subject")).to_have_value(
        "Hello {{ person.first_name }} at {{ account.name }}")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#template-note")).to_contain_text("Published")
    expect(page.locator("#preview")).to_contain_text("Hello Ada at Account 04")  # as stored now
    expect(page.locator("#publish-template")).to_have_count(0)
