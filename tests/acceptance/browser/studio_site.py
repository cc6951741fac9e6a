"""The world the studio's browser tests work in: the CustomerSuccessBox renewal example's
workspace (segments, templates, CSMs, playbooks) and its seat-expansion nurture published, no
renewal journey yet; the real service on a loopback port; Debian's chromium signed in.

Helpers click the studio as a person would: open the palette on an edge, pick a kind, fill the
form. Nothing here types YAML.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from itinera.api import create_app
from itinera.cli.serve_cmd import with_worker
from itinera.definitions import load_scenario
from itinera.runtime import ManualClock, Service
from itinera.runtime.demo import example_scenario
from itinera.storage import keys

__all__ = ["EXAMPLE", "StudioSite", "open_studio_site", "shot"]

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright's own browsers are never downloaded
EXAMPLE = example_scenario("csb-renewal.scenario.yaml")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
SCREENSHOTS = (DOCS_SCREENSHOTS if os.environ.get("ITINERA_SCREENSHOTS")
               else Path(tempfile.gettempdir()) / "itinera-screenshots")


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=False)


@dataclass
class StudioSite:
    service: Service
    clock: ManualClock
    base: str
    key: str
    browser: Browser

    def page(self) -> Page:
        page = self.browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(f"{self.base}/ui/login")  # the key is typed in the form, never in an address
        page.fill("#key", self.key)
        with page.expect_navigation():
            page.click("form[action='/ui/login'] button[type=submit]")
        assert "/ui/login" not in page.url, page.content()
        return page

    def api(self, path: str) -> Any:
        response = httpx.get(self.base + path, headers={"Authorization": f"Bearer {self.key}"})
        assert response.status_code == 200, response.text
        return response.json()

    def new_studio(self) -> Studio:
        """A signed-in page on a new journey's studio, opened with the journeys list's button,
        emptied of the nodes a new draft starts with (with the Delete button)."""
        page = self.page()
        page.goto(f"{self.base}/ui/journeys")
        with page.expect_navigation():
            page.click("button[data-command='new-journey']")
        studio = Studio(page)
        studio.wait()
        for node in studio.node_ids():
            studio.select(node)
            studio.form.get_by_role("button", name="Delete node").click()
            studio.wait()
        assert studio.node_ids() == []
        return studio


class Studio:
    """The studio page, driven by clicks and form inputs."""

    def __init__(self, page: Page) -> None:
        self.page = page

    @property
    def form(self) -> Locator:
        return self.page.locator("#studio-form")

    def revision(self) -> int:
        return int(self.page.locator(".studio").get_attribute("data-revision") or "0")

    def wait(self) -> None:
        """Until every edit sent is answered."""
        expect(self.page.locator(".studio[data-busy='no']")).to_be_visible(timeout=15_000)

    def node(self, node_id: str) -> Locator:
        return self.page.locator(f"svg.studio-graph g.node[data-node='{node_id}']")

    def select(self, node_id: str) -> None:
        self.node(node_id).click()
        expect(self.form.locator(f"[data-form-node='{node_id}']")).to_be_visible()

    def add(self, after: str, kind: str, before: str = "", label: str = "") -> str:
        """Add a node of ``kind`` on the edge from ``after`` (to ``before``, or its open end);
        the new node's id (the studio selects it)."""
        known = set(self.node_ids())
        selector = f"g.add[data-add-from='{after}'][data-add-to='{before}']"
        if label:
            selector += f"[data-add-label='{label}']"
        self.page.locator(selector).first.click()
        self.page.locator(f".palette button[data-kind='{kind}']").click()
        self.wait()
        added = [n for n in self.node_ids() if n not in known]
        assert len(added) == 1, (known, added)
        expect(self.form.locator(f"[data-form-node='{added[0]}']")).to_be_visible()
        return added[0]

    def node_ids(self) -> list[str]:
        return [n for n in self.page.locator("svg.studio-graph g.node").evaluate_all(
            "els => els.map(e => e.dataset.node)") if n != "__entry__"]

    def fill(self, field: Locator, value: str) -> None:
        """Type ``value`` in a form box and leave it (the studio commits on change)."""
        field.fill(value)
        field.press("Tab")
        self.wait()

    def choose(self, field: Locator, value: str | None = None, label: str | None = None) -> None:
        if label is not None:
            field.select_option(label=label)
        else:
            field.select_option(value)
        self.wait()

    def rename(self, new_id: str) -> None:
        self.fill(self.form.get_by_label("node id"), new_id)
        expect(self.form.locator(f"[data-form-node='{new_id}']")).to_be_visible()

    def yaml(self) -> str:
        return str(self.page.locator("#studio-yaml .cm-content").inner_text())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served_in_chromium(app: Any, service: Service) -> Iterator[tuple[str, Browser]]:
    """``app`` served on a free loopback port with ``service``'s worker, and Debian's chromium:
    (the base URL, the browser); both stopped at the end. The browser tests' one set-up."""
    app.router.lifespan_context = with_worker(service, 0.05)
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
                yield f"http://127.0.0.1:{port}", browser
            finally:
                browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _world_inputs() -> list[dict[str, Any]]:
    loaded = load_scenario(EXAMPLE)
    data = loaded.scenario.data
    workspace = data.model_dump(mode="json", exclude={"accounts", "people", "buying_groups"})
    nurture = next(j for j in loaded.journeys if j.id == "upsell-nurture")
    return [{"configure": workspace},
            {"publish": nurture.model_dump(mode="json", by_alias=True, exclude_none=True)}]


@contextmanager
def open_studio_site(database: Path) -> Iterator[StudioSite]:
    clock = ManualClock(START)
    service = Service(f"sqlite:///{database}", clock, sandbox=True)
    try:
        service.submit(_world_inputs())
        while service.work():
            pass
        with service.intake.engine.begin() as connection:
            _, key = keys.create_api_key(connection, "studio-tests", START)
        with served_in_chromium(create_app(service), service) as (base, browser):
            yield StudioSite(service, clock, base, key, browser)
    finally:
        service.close()
