"""The web UI in a real browser: headless Debian chromium driven by Playwright, against the real
service (uvicorn on a loopback port, its worker thread applying inputs) over the demo's world on
a manual clock. Opens the journeys, watches the graph's counts change by themselves, pauses and
resumes, reads an account's timeline, completes a task and previews a template; the
screenshots it takes are the ones in docs/screenshots/ (written there with
``ITINERA_SCREENSHOTS=1``; else to a temporary folder, so a test run leaves the tree as it was).
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright
from ui_world import World, open_world

from itinera.analytics.report import node_counts
from itinera.api import create_app
from itinera.cli.serve_cmd import with_worker

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright's own browsers are never downloaded
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
SCREENSHOTS = (DOCS_SCREENSHOTS if os.environ.get("ITINERA_SCREENSHOTS")
               else Path(tempfile.gettempdir()) / "itinera-screenshots")


class Site:
    """The running service, and a browser signed in to it."""

    def __init__(self, world: World, base: str, browser: Browser) -> None:
        self.world, self.base, self.browser = world, base, browser

    def page(self) -> Page:
        page = self.browser.new_page(viewport={"width": 1360, "height": 900})
        page.goto(f"{self.base}/ui/login")  # the key is typed in the form, never in an address
        page.fill("#key", self.world.key)
        with page.expect_navigation():
            page.click("form[action='/ui/login'] button[type=submit]")
        assert "/ui/login" not in page.url, page.content()
        return page

    def api(self, path: str, **params: Any) -> Any:
        response = httpx.get(self.base + path, params=params,
                             headers={"Authorization": f"Bearer {self.world.key}"})
        assert response.status_code == 200, response.text
        return response.json()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    database = tmp_path_factory.mktemp("ui") / "ui.db"
    with open_world(f"sqlite:///{database}") as world:
        world.progress(3)
        world.run_trial()
        app = create_app(world.service)
        app.router.lifespan_context = with_worker(world.service, 0.05)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 120
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                try:
                    yield Site(world, f"http://127.0.0.1:{port}", browser)
                finally:
                    browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=20)


def _shot(page: Page, name: str, full: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=full)


def test_journeys_graph_counts_refresh_and_lifecycle_controls(site: Site) -> None:
    page = site.page()
    expect(page).to_have_url(f"{site.base}/ui/journeys")
    row = page.locator('tr[data-journey="bodea-x"]')
    expect(row.locator('[data-count="completed"]')).not_to_have_text("0")
    expect(page.locator('tr[data-journey="trial-test"]')).to_contain_text("Trial subject lines")
    _shot(page, "journeys.png", full=False)

    page.get_by_role("link", name="Bodea-Product X — large accounts").click()
    expect(page).to_have_url(f"{site.base}/ui/journeys/bodea-x")
    with site.world.service.intake.engine.connect() as connection:
        counts = node_counts(connection, "bodea-x")
    listen = page.locator('g[data-node="listen"]')
    expect(listen.locator('[data-count="waiting"]')).to_have_text(str(counts["listen"].waiting))
    expect(page.locator('g[data-node="by-state"] [data-count="entered"]')).to_have_text(
        str(counts["by-state"].entered))
    assert counts["listen"].waiting > 0

    # Two weeks pass: the listeners time out, get a nudge and listen again. The page shows it
    # by itself (htmx polls the live fragment every 2 s).
    site.world.clock.advance(timedelta(days=15))
    expect(listen.locator('[data-count="waiting"]')).to_have_text("0", timeout=15_000)
    again = page.locator('g[data-node="listen-again"] [data-count="waiting"]')
    expect(again).to_have_text(str(counts["listen"].waiting), timeout=15_000)
    expect(page.locator('g[data-node="nudge"] [data-count="entered"]')).not_to_have_text("0")
    page.wait_for_timeout(300)
    _shot(page, "journey.png")

    page.locator('button[data-command="pause"]').click()
    expect(page.locator("#status")).to_have_text("paused")
    assert site.api("/api/journeys/bodea-x")["status"] == "paused"
    page.locator('button[data-command="resume"]').click()
    expect(page.locator("#status")).to_have_text("enabled")
    assert site.api("/api/journeys/bodea-x")["status"] == "enabled"


def test_graph_node_subtitles_are_readable_and_fit_their_node(site: Site) -> None:
    page = site.page()
    page.goto(f"{site.base}/ui/journeys/bodea-x")
    expect(page.locator("g.node text.detail").first).to_be_visible()
    # One look at every subtitle at once (the graph refreshes itself every 2 s).
    found = page.evaluate("""() => [...document.querySelectorAll('g.node')].map(g => {
        const text = g.querySelector('text.detail'), shape = g.querySelector('.shape');
        if (!text || !text.textContent.trim()) return null;
        const t = text.getBoundingClientRect(), s = shape.getBoundingClientRect();
        return {text: text.textContent, size: parseFloat(getComputedStyle(text).fontSize),
                right: t.right, limit: s.right - 8};
    }).filter(Boolean)""")
    assert len(found) >= 5
    for detail in found:
        assert detail["size"] >= 12 and detail["right"] <= detail["limit"], detail


def test_experiment_results_with_their_interval(site: Site) -> None:
    page = site.page()
    page.get_by_role("link", name="Trial subject lines").click()
    expect(page.locator('g[data-node="pick"]')).to_contain_text("experiment subject")
    report = page.locator("section.report")
    expect(report).to_contain_text("Experiment subject")
    expect(report.locator("line.interval")).to_have_count(1)
    report.scroll_into_view_if_needed()
    _shot(page, "journey-experiment.png")


def test_account_timeline_shows_decisions_with_their_values(site: Site) -> None:
    page = site.page()
    engaged = site.world.engaging(1)[0]
    page.get_by_role("link", name="Accounts", exact=True).click()
    page.get_by_label("Search accounts").fill(engaged)
    page.get_by_role("button", name="Search").click()
    page.locator(f'a[href="/ui/accounts/{engaged}"]').first.click()
    expect(page).to_have_url(f"{site.base}/ui/accounts/{engaged}")
    timeline = page.locator("#timeline")
    decision = timeline.locator("li", has_text="by-state: took branch 2 → ny-decision-makers")
    expect(decision).to_contain_text("account state is NY")
    expect(decision.locator("dt", has_text="account state")).to_be_visible()  # the value read
    expect(decision.locator("dd").last).to_have_text("NY")  # as recorded when it decided
    expect(timeline.locator("li", has_text="listen: heard → mark-engaged")).to_contain_text(
        "engagement score is over 80")
    expect(timeline).to_contain_text("reached the goal of bodea-x")
    expect(page.locator('[data-score="engagement"]')).to_have_text("100.0")
    _shot(page, "account.png")


def test_why_not_opens_for_each_journey_on_the_account_page(site: Site) -> None:
    page = site.page()
    engaged = site.world.engaging(1)[0]
    page.goto(f"{site.base}/ui/accounts/{engaged}")
    panel = page.locator("#why")
    expect(panel.locator("details.why")).to_have_count(2)  # bodea-x and trial-test
    bodea = panel.locator('details[data-journey="bodea-x"]')
    facts = bodea.locator("dl.facts")
    expect(facts).to_be_hidden()  # closed until asked
    expect(bodea.locator("summary")).to_contain_text("enabled")
    bodea.locator("summary").click()
    expect(facts).to_be_visible()
    expect(facts.locator("dt", has_text="re-entry")).to_be_visible()
    expect(facts).to_contain_text("completed")  # its enrollment ended with the goal
    expect(facts.locator("dd.next-change")).to_be_visible()
    trial = panel.locator('details[data-journey="trial-test"]')
    trial.locator("summary").click()
    expect(trial.locator("dl.facts")).to_contain_text("event trial.started")
    bodea.scroll_into_view_if_needed()
    _shot(page, "account-why.png", full=False)


def test_a_csm_completes_a_task_from_the_inbox(site: Site) -> None:
    open_tasks = site.api("/api/tasks", status="open")["items"]
    assert open_tasks
    task = open_tasks[0]
    page = site.page()
    page.get_by_role("link", name="Tasks", exact=True).click()
    row = page.locator(f'tr[data-task="{task["id"]}"]')
    expect(row).to_contain_text(task["title"])
    _shot(page, "tasks.png", full=False)
    row.get_by_label("Note").fill("Booked a call for Thursday")
    row.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("status")).to_have_text(f"Task {task['id']} completed.")
    expect(page.locator(f'tr[data-task="{task["id"]}"]')).to_have_count(0)
    done = {t["id"]: t for t in site.api("/api/tasks", status="completed")["items"]}
    assert done[task["id"]]["completion_note"] == "Booked a call for Thursday"

    page.get_by_label("Status").select_option("completed")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f'tr[data-task="{task["id"]}"]')).to_contain_text("completed")


def test_template_preview_for_a_chosen_person(site: Site) -> None:
    engaged = site.world.engaging(1)[0]
    page = site.page()
    page.get_by_role("link", name="Templates", exact=True).click()
    page.get_by_label("Template").select_option("dm-intro")
    page.get_by_label("Person").fill(f"{engaged}-0")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Bodea-Product X for leaders")
    expect(preview).to_contain_text("as Decision Maker")
    _shot(page, "template-preview.png", full=False)


def test_people_sign_in_with_a_password_and_see_what_their_role_allows(site: Site) -> None:
    """An admin (signed in with the admin key) makes an editor on the Users page; the editor
    signs in with name and password, may edit but not run journeys, and signs out everywhere."""
    admin = site.page()
    admin.get_by_role("link", name="Users & keys").click()
    expect(admin).to_have_url(f"{site.base}/ui/admin/users")
    admin.fill("#new-name", "edna")
    admin.select_option("#new-role", "editor")
    admin.fill("#new-password", "edna's long password")
    admin.click("#new-user button[type=submit]")
    expect(admin.locator('tr[data-user="edna"]')).to_contain_text("active")

    page = site.browser.new_page(viewport={"width": 1360, "height": 900})
    page.goto(f"{site.base}/ui/journeys/bodea-x")  # sent to sign in, then back here
    page.fill("#name", "edna")
    page.fill("#password", "edna's long password")
    page.click("#password-form button[type=submit]")
    expect(page).to_have_url(f"{site.base}/ui/journeys/bodea-x")
    expect(page.locator(".whoami")).to_contain_text("edna (editor)")
    expect(page.locator('button[data-command="edit"]')).to_be_visible()
    expect(page.locator('button[data-command="pause"]')).to_have_count(0)  # approvers run them
    expect(page.get_by_role("link", name="Users & keys")).to_have_count(0)

    other = site.browser.new_page()
    other.goto(f"{site.base}/ui/login")
    other.fill("#name", "edna")
    other.fill("#password", "edna's long password")
    other.click("#password-form button[type=submit]")
    expect(other).to_have_url(f"{site.base}/ui/journeys")
    page.get_by_role("button", name="Sign out everywhere").click()
    expect(page).to_have_url(f"{site.base}/ui/login")
    other.goto(f"{site.base}/ui/tasks")
    expect(other).to_have_url(f"{site.base}/ui/login?next=/ui/tasks")  # signed out there too
    for opened in (admin, page, other):
        opened.close()
