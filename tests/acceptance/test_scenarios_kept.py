"""Scenario files kept in the workspace (``itinera scenarios``, ``/api/scenarios``) and run
against a draft journey in a child process with a time limit: the draft replaces the journey
of its id and each expectation is said held or failed with its place."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from api_support import Api, open_api
from typer.testing import CliRunner

from itinera.cli.main import app
from itinera.cli.scenarios_cmd import scenario_files
from itinera.studio.runs import RunRefused, Runs
from itinera.studio.scenarios import run_against

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RENEWAL = EXAMPLES / "csb-renewal.scenario.yaml"


def _bundle() -> tuple[str, dict[str, str]]:
    text = RENEWAL.read_text(encoding="utf-8")
    return text, scenario_files(RENEWAL, text)


def _draft() -> dict[str, Any]:
    journey: dict[str, Any] = yaml.safe_load(
        (EXAMPLES / "csb-renewal.journey.yaml").read_text(encoding="utf-8"))
    return journey


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def test_scenarios_are_kept_listed_by_journey_shown_and_removed(api: Api) -> None:
    text, files = _bundle()
    assert list(files) == ["csb-renewal.journey.yaml"]
    created = api.post("/api/scenarios", {"name": "renewal", "text": text, "files": files},
                       wait=False)
    assert created.status_code == 201, created.text
    summary = created.json()
    # The inline upsell nurture and the renewal journey of its file.
    assert sorted(summary["journeys"]) == ["csb-renewal", "upsell-nurture"]
    assert summary["added_by"] == "key:tests" and summary["files"] == ["csb-renewal.journey.yaml"]
    assert [s["name"] for s in api.get("/api/scenarios", journey="csb-renewal")] == ["renewal"]
    assert api.get("/api/scenarios", journey="onboarding") == []
    shown = api.get("/api/scenarios/renewal")
    assert shown["text"] == text and shown["contents"] == files
    headers = {"Authorization": f"Bearer {api.key}"}
    assert api.client.delete("/api/scenarios/renewal", headers=headers).status_code == 204
    assert api.client.delete("/api/scenarios/renewal", headers=headers).status_code == 404
    assert api.get("/api/scenarios") == []


def test_an_invalid_scenario_is_not_kept_and_its_problems_are_placed(api: Api) -> None:
    text, files = _bundle()
    missing = api.post("/api/scenarios", {"name": "renewal", "text": text}, wait=False)
    assert missing.status_code == 422
    assert any(e["place"].startswith("journey_files[0]") for e in missing.json()["errors"])
    broken = files | {"csb-renewal.journey.yaml": files["csb-renewal.journey.yaml"].replace(
        "next: csm-hit", "next: nowhere")}
    refused = api.post("/api/scenarios", {"name": "renewal", "text": text, "files": broken},
                       wait=False)
    assert refused.status_code == 422
    assert any(e["place"] == "csb-renewal.journey.yaml: nodes.t-minus-60.next"
               for e in refused.json()["errors"]), refused.json()
    outside = api.post("/api/scenarios", {"name": "renewal", "text": text,
                                          "files": {"../x.yaml": "id: x"}}, wait=False)
    assert outside.status_code == 422
    assert {e["place"] for e in outside.json()["errors"]} >= {"files.../x.yaml"}
    assert api.get("/api/scenarios") == []


def test_the_cli_adds_lists_and_removes_scenarios(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'store.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade", "--database", database]).exit_code == 0
    added = runner.invoke(app, ["scenarios", "add", str(RENEWAL), "--database", database])
    assert added.exit_code == 0, added.output
    assert "kept scenario csb-renewal" in added.output
    listed = runner.invoke(app, ["scenarios", "list", "--database", database])
    assert listed.output.startswith("csb-renewal\tupsell-nurture,csb-renewal\t")
    assert runner.invoke(app, ["scenarios", "remove", "csb-renewal", "--database",
                               database]).exit_code == 0
    assert runner.invoke(app, ["scenarios", "remove", "csb-renewal", "--database",
                               database]).exit_code == 1
    bad = tmp_path / "bad.scenario.yaml"
    bad.write_text("start: 2026-03-02\njourney_files: [nowhere.yaml]\n", encoding="utf-8")
    refused = runner.invoke(app, ["scenarios", "add", str(bad), "--database", database])
    assert refused.exit_code == 2 and "nowhere.yaml" in refused.output


def test_a_draft_runs_in_its_journeys_place_and_each_expectation_is_said() -> None:
    text, files = _bundle()
    runs = Runs()
    held = runs.run(run_against, "renewal", text, files, "csb-renewal", _draft(), seconds=300)
    assert held["ok"] and held["problems"] == []
    assert len(held["expectations"]) == 13 and all(e["held"] for e in held["expectations"])
    # The draft waits for the renewal 45 days out instead of 60: the expectations of the
    # accounts whose path or outcome changes fail, each at its place.
    changed = _draft()
    changed["nodes"]["t-minus-60"]["wait_until"]["offset"] = "-45d"
    failed = runs.run(run_against, "renewal", text, files, "csb-renewal", changed, seconds=300)
    assert not failed["ok"]
    misses = [e for e in failed["expectations"] if not e["held"]]
    assert misses and all(e["message"].startswith(e["place"]) for e in misses)
    assert {e["place"] for e in failed["expectations"] if e["held"]} >= {"expect[4]", "expect[6]"}
    # A draft with a problem is said with its place in the file it replaces.
    broken = _draft()
    broken["nodes"]["t-minus-60"]["next"] = "nowhere"
    invalid = run_against("renewal", text, files, "csb-renewal", broken)
    assert not invalid["ok"]
    assert invalid["problems"][0]["place"] == "csb-renewal.journey.yaml: nodes.t-minus-60.next"
    # A scenario without the draft's journey does not exercise it.
    other = run_against("renewal", text, files, "onboarding", _draft() | {"id": "onboarding"})
    assert "no journey 'onboarding'" in other["problems"][0]["message"]


def test_a_run_past_its_time_limit_is_stopped_and_busy_slots_refuse() -> None:
    started = time.monotonic()
    with pytest.raises(RunRefused) as stopped:
        Runs().run(time.sleep, 30, seconds=1)
    assert stopped.value.status == 504 and "longer than 1 s" in str(stopped.value)
    assert time.monotonic() - started < 25  # killed, not waited for
    with pytest.raises(RunRefused) as failed:
        Runs().run(int, "x", seconds=60)
    assert failed.value.status == 500 and "ValueError" in str(failed.value)
    busy = Runs(slots=1)
    busy._slots.acquire()  # one check running
    with pytest.raises(RunRefused) as refused:
        busy.run(int, "1", seconds=60)
    assert refused.value.status == 429
