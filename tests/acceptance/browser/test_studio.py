"""The journey studio in a real browser (headless Debian chromium, Playwright), against the real
service: a new journey from the journeys list, nodes added from the palette on the graph's edges,
a wait edited in its form, an edit of the YAML shown on the graph, and a problem shown at its
node and field (and Publish refused while it remains)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from studio_site import Studio, StudioSite, open_studio_site, shot


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioSite]:
    with open_studio_site(tmp_path_factory.mktemp("studio") / "studio.db") as found:
        yield found


def test_new_journey_opens_the_studio_with_graph_and_yaml(site: StudioSite) -> None:
    studio = site.new_studio()
    page = studio.page
    assert "/ui/studio/" in page.url
    expect(studio.node("__entry__")).to_be_visible()
    expect(page.locator("#studio-yaml .cm-content")).to_contain_text("id: new-journey")
    # An empty journey has problems (no nodes), so Publish is refused.
    expect(page.locator("[data-publish='disabled']")).to_be_disabled()
    draft = page.url.rsplit("/", 1)[1]
    page.goto(f"{site.base}/ui/studio")
    expect(page.locator(f"#drafts tr[data-draft='{draft}']")).to_contain_text("new-journey")


def test_add_a_node_and_edit_its_wait(site: StudioSite) -> None:
    studio = site.new_studio()
    wait = studio.add("__entry__", "wait")
    assert wait == "wait-1"
    assert "wait: 1d" in studio.yaml()
    studio.fill(studio.form.get_by_label("wait amount"), "3")
    studio.choose(studio.form.get_by_label("wait unit"), "w")
    expect(studio.page.locator("#studio-yaml .cm-content")).to_contain_text("wait: 3w")
    expect(studio.node(wait)).to_contain_text("wait 3w")
    end = studio.add(wait, "end")
    expect(studio.node(end)).to_be_visible()
    expect(studio.page.locator("#studio-yaml .cm-content")).to_contain_text(f"next: {end}")


def test_a_yaml_edit_shows_on_the_graph(site: StudioSite) -> None:
    studio = site.new_studio()
    studio.add("__entry__", "wait")
    content = studio.page.locator("#studio-yaml .cm-content")
    content.click()
    studio.page.keyboard.press("Control+End")
    studio.page.keyboard.type("\n  extra:\n    wait: 2d\n")
    expect(studio.node("extra")).to_be_visible(timeout=15_000)
    expect(studio.node("extra")).to_contain_text("wait 2d")


def test_a_problem_shows_at_its_node_and_field(site: StudioSite) -> None:
    studio = site.new_studio()
    split = studio.add("__entry__", "split")
    studio.form.locator("[data-add-branch='when']").click()
    studio.wait()
    # A branch without a condition: a problem at the split, in its form and in the list.
    expect(studio.page.locator(f"svg.studio-graph g.node.troubled[data-node='{split}']")).to_be_visible()
    expect(studio.page.locator("#studio-problems")).to_contain_text(f"nodes.{split}")
    expect(studio.form.locator(".field-problems").first).to_be_visible()
    # ... and in the code editor, underlined at its line.
    expect(studio.page.locator("#studio-yaml .cm-lintRange-error").first).to_be_visible()
    expect(studio.page.locator("[data-publish='disabled']")).to_be_disabled()
    shot(studio.page, "studio-problem.png")


def test_delete_reconnects_and_move_puts_a_node_on_another_edge(site: StudioSite) -> None:
    studio = site.new_studio()
    first = studio.add("__entry__", "wait")
    second = studio.add(first, "do")
    third = studio.add(second, "end")
    # Move the wait between the do node and the end: entry → do → wait → end.
    studio.select(first)
    studio.choose(studio.form.get_by_label("Move to"), label=f"{second} → {third}")
    studio.select(second)
    expect(studio.form.get_by_label("then go to")).to_have_value(first)
    expect(studio.page.locator(f"g.edge[data-edge-from='__entry__'][data-edge-to='{second}']")).to_have_count(1)
    # Delete it again: the do node goes straight on to the end.
    studio.select(first)
    studio.form.get_by_role("button", name="Delete node").click()
    studio.wait()
    expect(studio.node(first)).to_have_count(0)
    studio.select(second)
    expect(studio.form.get_by_label("then go to")).to_have_value(third)


def test_edit_on_a_journey_page_opens_its_draft(site: StudioSite) -> None:
    page = site.page()
    page.goto(f"{site.base}/ui/journeys/upsell-nurture")
    with page.expect_navigation():
        page.click("button[data-command='edit']")
    studio = Studio(page)
    studio.wait()
    assert set(studio.node_ids()) == {"pitch-1", "pause-1", "pitch-2", "pause-2"}
    studio.select("pause-1")
    expect(studio.form.get_by_label("wait amount")).to_have_value("30")
    expect(studio.form.get_by_label("wait unit")).to_have_value("d")


def test_import_a_file_and_edit_it_keeping_its_comments(site: StudioSite, tmp_path: Path) -> None:
    studio = site.new_studio()
    file = tmp_path / "tiny.journey.yaml"
    file.write_text("# Two days' grace.\nid: tiny\nentry: {segments: [renewal-90]}\nstart: hold\n"
                    "nodes:\n  hold: {wait: 2d}  # then done\n")
    studio.page.get_by_label("Import a journey file").set_input_files(str(file))
    expect(studio.node("hold")).to_be_visible(timeout=15_000)
    expect(studio.page.locator(".studio[data-problems='0']")).to_be_visible()
    studio.select("hold")
    studio.fill(studio.form.get_by_label("wait amount"), "5")
    expect(studio.node("hold")).to_contain_text("wait 5d")
    text = studio.yaml()
    assert "# Two days' grace." in text and "# then done" in text and "5d" in text, text


def test_the_condition_builder_changes_only_what_changed(site: StudioSite, tmp_path: Path) -> None:
    studio = site.new_studio()
    file = tmp_path / "check.journey.yaml"
    file.write_text("id: check\nentry: {segments: [renewal-90]}\nstart: check\nnodes:\n  check:\n"
                    "    split:\n      - when:\n          account.health: {gte: 70}  # healthy enough\n"
                    "          account.lifecycle: live  # paying\n        next: fine\n"
                    "      - else: fine\n  fine: {end: true}\n")
    studio.page.get_by_label("Import a journey file").set_input_files(str(file))
    expect(studio.node("check")).to_be_visible(timeout=15_000)
    studio.select("check")
    health = studio.form.locator("[data-clause='field'][data-name='account.health']")
    studio.fill(health.get_by_label("value"), "75")
    expect(studio.form.locator("[data-words]")).to_contain_text("75")
    text = studio.yaml()
    assert "# healthy enough" in text and "# paying" in text and "75" in text, text
    # A new clause in words too, and the graph's edge says the branch in brief.
    expect(studio.page.locator("g.edge[data-edge-label='#1']")).to_contain_text("health ≥ 75")


def test_the_test_panel_backtests_and_the_counts_show_on_the_graph(site: StudioSite) -> None:
    # History to replay: an hour later, two accounts start a renewal (the draft's entry event).
    site.clock.advance(timedelta(hours=1))
    site.service.submit([{"upsert_account": {"id": f"acme-{n}", "attributes": {"name": f"Acme {n}"}}}
                         for n in (1, 2)])
    site.service.submit([{"event": {"id": f"start-{n}", "type": "renewal.started", "account": f"acme-{n}"}}
                         for n in (1, 2)])
    site.clock.advance(timedelta(hours=1))
    studio = site.new_studio()
    wait = studio.add("__entry__", "wait")
    studio.select("__entry__")
    studio.fill(studio.form.get_by_label("or on the event"), "renewal.started")
    studio.page.get_by_role("button", name="Test", exact=True).click()
    panel = studio.page.locator("#studio-tests")
    expect(panel.locator("#run-backtest")).to_be_visible(timeout=15_000)
    panel.locator("#run-backtest button[type=submit]").click()
    expect(panel.locator("[data-node-counts]")).to_have_count(1, timeout=60_000)
    expect(panel).to_contain_text("2 enrollments")
    expect(studio.node(wait).locator("[data-count='backtest']")).to_have_text("2")
