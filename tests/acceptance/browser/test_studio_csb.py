"""Issue 12's done-when: from an empty studio, with clicks and form inputs only (no YAML typed),
build the CustomerSuccessBox renewal journey (examples/csb-renewal.journey.yaml). The saved
file holds the same journey as the example, validates, and simulates the example's scenario to
the same result, byte for byte."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Locator, expect
from studio_site import EXAMPLE, Studio, StudioSite, open_studio_site, shot

ITINERA = Path(sys.executable).with_name("itinera")
JOURNEY = EXAMPLE.with_name("csb-renewal.journey.yaml")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioSite]:
    with open_studio_site(tmp_path_factory.mktemp("studio-csb") / "studio.db") as found:
        yield found


def _condition(studio: Studio, scope: Locator, field: str, op: str, value: str) -> None:
    """Add ``field op value`` to the condition builder ``scope`` (its last pending row)."""
    scope.locator("[data-add-clause='field']").first.click()
    row = scope.locator("[data-clause='new-field']").first
    row.get_by_label("new field").fill(field)
    row.get_by_label("new operator").select_option(op)
    row.get_by_label("new value").fill(value)
    row.locator("[data-commit='field']").click()
    studio.wait()


def _action(studio: Studio, kind: str) -> Locator:
    """Add an action of ``kind`` to the selected do node; its editor."""
    count = studio.form.locator(".action").count()
    studio.choose(studio.form.get_by_label("Add an action"), kind)
    editor = studio.form.locator(f".action[data-index='{count}']")
    expect(editor).to_have_attribute("data-action", kind)
    return editor


def _pair(studio: Studio, editor: Locator, label: str, name: str, value: str) -> None:
    editor.locator(f"[data-add-pair='{label}']").click()
    editor.get_by_label(f"{label} new name").fill(name)
    editor.get_by_label(f"{label} new value").fill(value)
    editor.get_by_role("button", name="Add", exact=True).click()
    studio.wait()


def _task(studio: Studio, title: str, assignee: str, due: str, notes: str | None = None) -> None:
    editor = _action(studio, "create_task")
    studio.fill(editor.get_by_label("title"), title)
    studio.choose(editor.get_by_label("assignee"), assignee)
    studio.fill(editor.get_by_label("due amount"), due)
    if notes is not None:
        studio.fill(editor.get_by_label("notes"), notes)


def _set(studio: Studio, name: str, value: str) -> None:
    _pair(studio, _action(studio, "set"), "Set", name, value)


def _email(studio: Studio, template: str) -> None:
    editor = _action(studio, "send_email")
    studio.choose(editor.get_by_label("template"), template)
    studio.choose(editor.get_by_label("to"), "condition")  # people matching: decision makers


def _wait_until(studio: Studio, amount: str, before: bool) -> None:
    studio.fill(studio.form.get_by_label("date attribute"), "account.renewal_date")
    studio.fill(studio.form.get_by_label("offset amount"), amount)
    if before:
        studio.choose(studio.form.get_by_label("offset direction"), "-")


def _check(studio: Studio, box: Locator) -> None:
    """Tick ``box``: it shows ticked once the draft that says so is back."""
    box.click()
    studio.wait()
    expect(box).to_be_checked()


def _next(studio: Studio, target: str, label: str = "then go to") -> None:
    studio.choose(studio.form.get_by_label(label), target)


def _build(studio: Studio) -> None:
    form = studio.form
    # The journey's rules (the entry is selected when the studio opens).
    studio.fill(form.get_by_label("journey id"), "csb-renewal")
    studio.fill(form.get_by_label("name", exact=True), "Renewal in the next 90 days")
    _check(studio, form.get_by_label("segments: renewal-90"))
    _check(studio, form.get_by_label("accounts already in the segments enter too"))
    studio.choose(form.get_by_label("re-entry"), "after")
    studio.fill(form.get_by_label("re-enter after amount"), "180")
    form.locator("[data-add='goal']").click()
    studio.wait()
    goal = form.locator("fieldset[data-section='goal']")
    _condition(studio, goal, "account.renewal_status", "eq", "renewed")
    studio.choose(goal.get_by_label("when met"), "exit")
    exits = form.locator("fieldset[data-section='exit']")
    _condition(studio, exits, "account.renewal_status", "eq", "churned")
    _check(studio, exits.get_by_label("entering unenrolls from: upsell-nurture"))
    expect(goal.locator("[data-words]")).to_contain_text("renewed")

    # 90 days out: the value recap.
    studio.add("__entry__", "do")
    studio.rename("value-recap")
    _set(studio, "account.renewal_stage", "value-recap")
    _email(studio, "renewal-value-recap")

    # At risk or not.
    studio.add("value-recap", "split")
    studio.rename("health-check")
    form.locator("[data-add-branch='when']").click()
    studio.wait()
    branch = form.locator(".branch[data-branch='0']")
    _condition(studio, branch, "account.health", "gte", "70")
    branch.locator("[data-add-clause='people']").first.click()
    studio.wait()
    people = branch.locator("[data-clause='people']")
    _condition(studio, people, "person.decision_maker", "eq", "true")
    expect(branch.locator("[data-words]")).to_contain_text("health")

    studio.add("health-check", "wait_until", label="#1")
    studio.rename("t-minus-60")
    _wait_until(studio, "60", before=True)

    studio.add("health-check", "do", label="else")
    studio.rename("at-risk")
    editor = _action(studio, "assign_playbook")
    studio.choose(editor.get_by_label("assign playbook"), "renewal-rescue")
    _task(studio, "Renewal risk: {{ account.name }}", "csm", "3",
          "Health {{ account.health }}; renews on {{ account.renewal_date }}. Make sure we know a "
          "decision maker, and run the rescue playbook before the 60-day mark.")
    hook = _action(studio, "webhook")
    studio.fill(hook.get_by_label("url"), "https://crm.test/api/renewals/risk")
    studio.choose(hook.get_by_label("method"), "POST")
    _pair(studio, hook, "body", "account", "{{ account.id }}")
    _pair(studio, hook, "body", "health", "{{ account.health }}")
    _pair(studio, hook, "body", "renewal_date", "{{ account.renewal_date }}")
    _next(studio, "t-minus-60")

    # 60 days out: the renewal conversation, then up to 30 days for a commitment.
    studio.add("t-minus-60", "do")
    studio.rename("csm-hit")
    _set(studio, "account.renewal_stage", "negotiating")
    editor = _action(studio, "assign_playbook")
    studio.choose(editor.get_by_label("assign playbook"), "renewal")
    _task(studio, "Renewal conversation with {{ account.name }}", "csm", "7",
          "Renews on {{ account.renewal_date }}. Bring the value recap and next year's plan.")

    studio.add("csm-hit", "wait_for")
    studio.rename("await-commit")
    studio.fill(form.get_by_label("events", exact=True), "renewal.quote_accepted")
    studio.choose(form.get_by_label("whose events"), "account")
    until = form.locator(".condition").filter(has_text="or until the account matches")
    _condition(studio, until, "account.renewal_status", "eq", "verbal-commit")
    studio.fill(form.get_by_label("timeout amount"), "30")

    studio.add("await-commit", "do", label="")
    studio.rename("paperwork")
    _set(studio, "account.renewal_stage", "paperwork")
    moment = _action(studio, "add_moment")
    studio.fill(moment.get_by_label("description"), "Renewal committed ({{ csm.name }})")
    _task(studio, "Send the renewal order form to {{ account.name }}", "csm", "2")

    studio.add("await-commit", "do", label="timeout")
    studio.rename("escalate")
    _pair(studio, _action(studio, "increase"), "Increase", "account.renewal_escalations", "1")
    _task(studio, "Renewal at risk: no commitment yet from {{ account.name }}", "dana", "2",
          "CSM: {{ csm.name }}. Renews on {{ account.renewal_date }}.")

    # A week out, the last call; a day after the date, lapsed.
    studio.add("paperwork", "wait_until")
    studio.rename("t-minus-7")
    _wait_until(studio, "7", before=True)
    studio.select("escalate")
    _next(studio, "t-minus-7")

    studio.add("t-minus-7", "do")
    studio.rename("last-call")
    _email(studio, "renewal-last-call")

    studio.add("last-call", "wait_until")
    studio.rename("grace")
    _wait_until(studio, "1", before=False)

    studio.add("grace", "do")
    studio.rename("lapsed")
    _set(studio, "account.renewal_stage", "lapsed")
    _task(studio, "{{ account.name }} passed its renewal date without renewing", "dana", "1")


def _simulate(scenario: Path) -> str:
    result = subprocess.run([str(ITINERA), "simulate", str(scenario), "--json"],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_csb_renewal_journey_built_by_clicks(site: StudioSite, tmp_path: Path) -> None:
    studio = site.new_studio()
    _build(studio)
    expect(studio.page.locator(".studio[data-problems='0']")).to_be_visible()
    expect(studio.page.locator("[data-publish='enabled']")).to_be_visible()
    shot(studio.page, "studio.png")
    studio.select("health-check")
    shot(studio.page, "studio-condition.png")

    # The saved file: exported as the studio offers it.
    with studio.page.expect_download() as download:
        studio.page.get_by_role("link", name="Export").click()
    saved = tmp_path / "built" / "csb-renewal.journey.yaml"
    saved.parent.mkdir()
    download.value.save_as(saved)
    assert yaml.safe_load(saved.read_text()) == yaml.safe_load(JOURNEY.read_text())

    validated = subprocess.run([str(ITINERA), "validate", str(saved)], capture_output=True, text=True,
                               timeout=300, check=False)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    shutil.copy(EXAMPLE, saved.parent / EXAMPLE.name)
    built = _simulate(saved.parent / EXAMPLE.name)
    assert json.loads(built)["enrollments"]
    assert built == _simulate(EXAMPLE)
