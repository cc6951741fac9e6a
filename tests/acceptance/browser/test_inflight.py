"""Editing a live journey in a real browser (headless Debian chromium, Playwright) against the
real service and its worker: the studio adds a node and changes a wait, Publish shows the impact
preview — its counts are the store's —, the enrollments of one node are moved, the others stay;
the moved ones go on on the new version; then a rollback through the same preview."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect
from studio_site import Studio, served_in_chromium, shot

from itinera.api import create_app
from itinera.runtime import ManualClock, Service
from itinera.storage import keys
from itinera.storage import schema as t
from itinera.timeutil import parse_instant

START = parse_instant("2026-03-02T09:00:00Z")
NURTURE: dict[str, Any] = {
    "id": "nurture", "name": "Trial nurture",
    "entry": {"segments": ["members"]},
    "start": "route",
    "nodes": {
        "route": {"split": [{"when": {"account.fast": True}, "next": "ask"}, {"else": "first"}]},
        "first": {"wait": "10d", "next": "ask"},
        "ask": {"wait_for": {"events": ["replied"], "scope": "account", "timeout": "5d"},
                "next": "done", "on_timeout": "done"},
        "done": {"end": True},
    },
}


@dataclass
class Site:
    service: Service
    clock: ManualClock
    base: str
    key: str
    browser: Browser

    def page(self) -> Page:
        page = self.browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(f"{self.base}/ui/login")
        page.fill("#key", self.key)
        with page.expect_navigation():
            page.click("form[action='/ui/login'] button[type=submit]")
        return page

    def store(self) -> dict[tuple[int, str], int]:
        """Active enrollments by (version, node), read straight from the database."""
        with self.service.intake.engine.connect() as connection:
            rows = connection.execute(sa.select(t.enrollments.c.version, t.enrollments.c.state)
                                      .where(t.enrollments.c.journey == "nurture",
                                             t.enrollments.c.status == "active"))
            counts: dict[tuple[int, str], int] = {}
            for row in rows:
                for node in {k["node"] for k in row.state["tokens"]}:
                    counts[(row.version, node)] = counts.get((row.version, node), 0) + 1
        return counts

    def until(self, check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 60
        while not check():
            assert time.monotonic() < deadline, f"never: {what} (store: {self.store()})"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    database: Path = tmp_path_factory.mktemp("inflight") / "inflight.db"
    clock = ManualClock(START)
    service = Service(f"sqlite:///{database}", clock, sandbox=True)
    try:
        service.submit([
            {"configure": {"segments": [{"id": "members", "when": {"account.member": True}}]}},
            {"publish": NURTURE}, {"enable": "nurture"},
            *[{"upsert_account": {"id": f"acct-{i}", "attributes": {
                "member": True, "fast": i >= 3, "name": f"Account {i}"}}} for i in range(5)]])
        while service.work():
            pass
        clock.set(START + timedelta(days=1))
        with service.intake.engine.begin() as connection:
            _, key = keys.create_api_key(connection, "inflight-tests", START)
        with served_in_chromium(create_app(service), service) as (base, browser):
            yield Site(service, clock, base, key, browser)
    finally:
        service.close()


def _shown_counts(page: Page) -> dict[str, int]:
    cells = page.locator("#impact-groups tr[data-node]")
    found = {}
    for i in range(cells.count()):
        row = cells.nth(i)
        found[f"{row.get_attribute('data-version')}:{row.get_attribute('data-node')}"] = int(
            row.locator("td[data-count]").inner_text())
    return found


def test_edit_a_live_journey_move_one_node_then_roll_back(site: Site) -> None:
    assert site.store() == {(1, "first"): 3, (1, "ask"): 2}
    page = site.page()
    page.goto(f"{site.base}/ui/journeys/nurture")
    with page.expect_navigation():
        page.click("button[data-command='edit']")
    studio = Studio(page)
    studio.wait()
    # Add a node after first (a wait before ask) and shorten first's wait from 10d to 2d.
    added = studio.add("first", "wait", before="ask")
    studio.select("first")
    studio.fill(studio.form.get_by_label("wait amount"), "2")
    expect(studio.node("first")).to_contain_text("wait 2d")
    assert f"next: {added}" in studio.yaml()

    with page.expect_navigation():
        page.click("a[data-publish='enabled']")
    assert "/ui/drafts/" in page.url and page.url.endswith("/publish")
    # The preview's counts by node are the store's.
    expect(page.locator("#impact-groups")).to_be_visible()
    assert {tuple(k.split(":")): v for k, v in _shown_counts(page).items()} == {
        (str(v), n): c for (v, n), c in site.store().items()}
    # Nodes the new version keeps are preselected; keep ask's enrollments where they are.
    expect(page.locator("select[data-move='first']")).to_have_value("first=first")
    page.select_option("select[data-move='ask']", "ask=")
    with page.expect_navigation():
        page.click("#preview")
    expect(page.locator("[data-total='moving']")).to_have_text("3")
    expect(page.locator("[data-total='staying']")).to_have_text("2")
    # first entered at 0s; its new 2d wait ends at START + 2d.
    expect(page.locator("tr[data-node='first']")).to_contain_text("due")
    shot(page, "publish-impact.png")
    with page.expect_navigation():
        page.click("#publish")
    expect(page.locator("#published")).to_contain_text("Published version 2")
    assert site.store() == {(2, "first"): 3, (1, "ask"): 2}

    # The moved enrollments go on on version 2: past first's new due instant, at the new node.
    site.clock.set(START + timedelta(days=2, minutes=1))
    site.until(lambda: site.store().get((2, added)) == 3, f"the moved ones at {added}")
    page.goto(f"{site.base}/ui/journeys/nurture?version=2")
    expect(page.locator(f"g.node[data-node='{added}'] [data-count='waiting']")).to_have_text("3")
    history = httpx.get(f"{site.base}/api/enrollments", params={"journey": "nurture"},
                        headers={"Authorization": f"Bearer {site.key}"}).json()["items"]
    moved = [e for e in history if e["version"] == 2]
    assert len(moved) == 3 and all(e["path"][-2:] == ["first", added] for e in moved)

    # Roll back to version 1 through the same preview: version 2's new node is flagged.
    page.goto(f"{site.base}/ui/journeys/nurture/diff?a=1&b=2")
    expect(page.locator(f"g.node[data-node='{added}']")).to_have_attribute("data-diff", "added")
    expect(page.locator("g.node[data-node='first']")).to_have_attribute("data-diff", "changed")
    shot(page, "version-diff.png")
    page.goto(f"{site.base}/ui/journeys/nurture/versions")
    with page.expect_navigation():
        page.click("a[data-rollback='1']")
    expect(page.locator(f"tr[data-node='{added}'] .badge.flagged")).to_contain_text("removed")
    assert _shown_counts(page) == {f"2:{added}": 3, "1:ask": 2}
    with page.expect_navigation():
        page.click("#publish")
    expect(page.locator("#published")).to_contain_text("Published version 3")
    expect(page.locator("tr[data-version='3']")).to_contain_text("current")
    expect(page.locator("tr[data-version='3']")).to_contain_text("inflight-tests")
    shot(page, "versions.png")
    with site.service.intake.engine.connect() as connection:
        v3 = connection.execute(sa.select(t.journeys.c.definition).where(
            t.journeys.c.id == "nurture", t.journeys.c.version == 3)).scalar_one()
    assert v3["nodes"] == NURTURE["nodes"]
    assert site.store() == {(2, added): 3, (1, "ask"): 2}  # nobody moved: all stay
