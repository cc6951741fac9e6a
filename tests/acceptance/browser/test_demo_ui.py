"""The README's main job in a real browser: ``itinera demo`` itself (a subprocess, its own
accelerated clock, its own made-up world and event feed) — follow the sign-in link it prints,
see the journey's graph with counts, wait for a sales task to open, complete it from the
inbox and read that account's timeline."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ITINERA = str(Path(sys.executable).with_name("itinera"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """The running demo: its sign-in link, its API key and the demo user's password."""
    port = _free_port()
    process = subprocess.Popen(
        [ITINERA, "demo", "--port", str(port), "--accounts", "150", "--seconds-per-day", "1",
         "--for", "120s"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    assert process.stdout is not None
    link = key = password = None
    deadline = time.monotonic() + 60
    while (link is None or key is None) and time.monotonic() < deadline:
        line = process.stdout.readline()
        if found := re.search(r"\(key: (\S+)\)", line):
            key = found[1]
        if found := re.search(r"Web UI: (\S+) \(sign in as demo, password (\S+);", line):
            link, password = found[1], found[2]
    assert link and key and password, "the demo did not print its links"
    try:
        yield link, key, password
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _open_task(base: str, key: str) -> dict[str, object]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        items = httpx.get(f"{base}/api/tasks", params={"status": "open"},
                          headers={"Authorization": f"Bearer {key}"}).json()["items"]
        if items:
            return dict(items[0])
        time.sleep(1)
    raise AssertionError("no task opened in the demo")


def test_the_demo_in_a_browser(demo: tuple[str, str, str]) -> None:
    link, key, password = demo
    base = link.split("/ui/", 1)[0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page: Page = browser.new_page(viewport={"width": 1360, "height": 900})
            assert link == f"{base}/ui/login" and key not in link  # no key in an address
            page.goto(link)
            page.fill("#name", "demo")  # the demo's user, as the demo printed
            page.fill("#password", password)
            page.click("#password-form button[type=submit]")
            expect(page).to_have_url(f"{base}/ui/journeys")
            page.get_by_role("link", name="Bodea-Product X — large accounts").click()
            entered = page.locator('g[data-node="by-state"] [data-count="entered"]')
            expect(entered).not_to_have_text("0", timeout=20_000)

            task = _open_task(base, key)
            page.get_by_role("link", name="Tasks", exact=True).click()
            row = page.locator(f'tr[data-task="{task["id"]}"]')
            expect(row).to_contain_text("Sales outreach")
            row.get_by_role("button", name="Complete").click()
            expect(page.get_by_role("status")).to_have_text(f"Task {task['id']} completed.")

            page.goto(f"{base}/ui/accounts/{task['account']}")
            timeline = page.locator("#timeline")
            expect(timeline).to_contain_text("ny-decision-makers")
            expect(timeline).to_contain_text("reached the goal of bodea-x")
        finally:
            browser.close()
    done = httpx.get(f"{base}/api/tasks", params={"status": "completed"},
                     headers={"Authorization": f"Bearer {key}"}).json()["items"]
    assert [t["id"] for t in done] == [task["id"]]
