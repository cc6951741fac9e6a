"""`itinera report` as a user runs it (tables, CSV, errors) and `GET /api/journeys/{id}/report`,
on the fixed scenario of tests/integration/test_analytics.py (whose numbers are explained
there), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import Api, open_api
from scipy import stats
from typer.testing import CliRunner

from itinera.cli.main import app
from itinera.definitions.loader import load_scenario
from itinera.simulate.runner import simulate

SCENARIO = Path(__file__).parent.parent / "fixtures" / "analytics" / "trial.scenario.yaml"
P_VALUE = float(stats.chi2_contingency([[35, 62], [20, 83]], correction=False).pvalue)


@pytest.fixture
def store_url(database_url: str) -> str:
    """A store holding the fixed scenario's run."""
    simulate(load_scenario(SCENARIO), database_url=database_url).store.close()
    return database_url


def report(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["report", *args])
    return result.exit_code, result.stdout, result.stderr


def row(text: str, first: str, after: str = "") -> list[str]:
    """The cells of the first table line that starts with ``first`` (after the text ``after``)."""
    lines = text[text.index(after):].splitlines()
    line = next(line for line in lines if line.split()[:1] == [first])
    return re.split(r"\s{2,}", line.strip())


def test_tables_of_a_simulated_scenario() -> None:
    code, out, err = report("trial", "--scenario", str(SCENARIO))
    assert (code, err) == (0, "")
    assert "trial — Trial conversion (all versions)" in out
    assert "202 enrolled: 53 active, 87 completed, 57 exited, 5 unenrolled; 2 ended on entry" in out
    assert "goal reached by 57 (28.2%), median time to goal 2d" in out
    assert row(out, "nurture") == ["nurture", "wait", "136", "45", "4", "4", "2.9%"]
    assert row(out, "close-slow") == ["close-slow", "wait", "24", "8", "0", "0", "0.0%"]
    assert row(out, "2026-01-09") == ["2026-01-09", "0", "23", "39", "23", "0"]
    assert "Experiment offer (node offer)" in out
    assert row(out, "standard*") == ["standard*", "103", "20", "19.4%"]
    assert row(out, "discount", after="Experiment offer") == [
        "discount", "97", "35", "36.1%", "+16.7%", "+4.3% to +28.5%", "+85.8%", f"{P_VALUE:.3g}"]
    assert "p: chi-square test" in out


def test_csv_of_a_store_within_a_window(store_url: str) -> None:
    code, out, err = report("trial", "--database", store_url, "--csv",
                            "--from", "2026-01-06", "--to", "2026-01-06")
    assert (code, err) == (0, "")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["section", "item", "variant", "metric", "value"]
    cells = {tuple(r[:4]): r[4] for r in rows[1:]}
    assert len(cells) == len(rows) - 1  # one value per (section, item, variant, metric)
    # The 67 trials of day 1 and the 2 customers already: 13 warm and 6 lukewarm-discount convert.
    assert cells["summary", "trial", "", "enrolled"] == "69"
    assert cells["summary", "trial", "", "goal_reached"] == "21"
    assert cells["summary", "trial", "", "ended_on_entry"] == "2"
    assert cells["node", "done", "", "ended"] == "48"
    assert cells["node", "nurture", "", "waiting"] == "0"
    assert [r[1] for r in rows if r[0] == "day" and r[3] == "enrolled"] == [
        "2026-01-06", "2026-01-08", "2026-01-10"]
    assert cells["experiment", "offer", "standard", "control"] == "true"
    assert ("experiment", "offer", "standard", "p_value") not in cells
    assert cells["experiment", "offer", "discount", "test"] == "chi-square"


def test_csv_experiment_values_are_full_precision(store_url: str) -> None:
    code, out, _ = report("trial", "--database", store_url, "--csv")
    assert code == 0
    cells = {tuple(r[:4]): r[4] for r in csv.reader(io.StringIO(out))}
    assert float(cells["experiment", "offer", "discount", "p_value"]) == pytest.approx(P_VALUE, rel=1e-9)
    assert float(cells["experiment", "offer", "discount", "rate"]) == 35 / 97
    assert cells["summary", "trial", "", "median_seconds_to_goal"] == "172800.0"


def test_unusable_input_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    code, out, err = report("trial", "--database", f"sqlite:///{missing}")
    assert (code, out) == (2, "")
    assert f"--database: no SQLite database at {missing}" in err
    assert not missing.exists()
    code, _, err = report("trial", "--database", "mysql://host/db")
    assert (code, err.strip()) == (2, "--database: a store is SQLite or PostgreSQL, not 'mysql'")
    code, _, err = report("trial", "--database", "no url")
    assert code == 2 and err.startswith("--database: database error: Could not parse")
    code, _, err = report("nope", "--scenario", str(SCENARIO))
    assert (code, err.strip()) == (2, "JOURNEY: no journey 'nope' was published")
    code, _, err = report("trial", "--scenario", str(SCENARIO), "--version", "2")
    assert (code, err.strip()) == (2, "--version: no version 2 of journey 'trial' was published")
    code, _, err = report("trial", "--scenario", str(SCENARIO), "--from", "2026-01-07", "--to", "2026-01-06")
    assert (code, err.strip()) == (2, "--from: 2026-01-07 is after --to 2026-01-06")
    code, _, err = report("trial", "--scenario", str(SCENARIO), "--from", "7 Jan")
    assert code == 2 and "--from" in err


# -- the API -------------------------------------------------------------------------------
@pytest.fixture
def api(store_url: str) -> Iterator[Api]:
    with open_api(store_url) as api:
        yield api


def test_api_report(api: Api) -> None:
    body = api.get("/api/journeys/trial/report")
    assert body["journey"] == "trial" and body["name"] == "Trial conversion"
    assert body["summary"]["enrolled"] == 202 and body["summary"]["goal_reached"] == 57
    assert body["median_seconds_to_goal"] == 172800
    nodes = {n["node"]: n for n in body["nodes"]}
    assert nodes["nurture"] == {"node": "nurture", "kind": "wait", "entered": 136, "waiting": 45,
                                "ended": 4, "dropped": 4, "drop_off_rate": pytest.approx(4 / 136)}
    assert body["days"][1] == {"day": "2026-01-06", "enrolled": 69, "goal_reached": 2,
                               "completed": 0, "exited": 2, "unenrolled": 5}
    [experiment] = body["experiments"]
    assert experiment["control"] == "standard"
    standard, discount = experiment["variants"]
    assert (standard["enrolled"], standard["converted"], standard["comparison"]) == (103, 20, None)
    assert discount["comparison"]["p_value"] == pytest.approx(P_VALUE, rel=1e-9)
    assert discount["comparison"]["test"] == "chi-square"
    windowed = api.get("/api/journeys/trial/report", **{"from": "2026-01-06", "to": "2026-01-06"})
    assert windowed["summary"]["enrolled"] == 69 and windowed["enrolled_from"] == "2026-01-06"


def test_api_report_errors_and_openapi(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.key}"}
    missing = api.client.get("/api/journeys/nope/report", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no journey 'nope' was published"
    backwards = api.client.get("/api/journeys/trial/report", headers=headers,
                               params={"from": "2026-01-07", "to": "2026-01-06"})
    assert backwards.status_code == 422
    assert backwards.json()["errors"] == [{"place": "from", "message": "2026-01-07 is after to (2026-01-06)"}]
    assert api.client.get("/api/journeys/trial/report").status_code == 401
    document = api.get("/openapi.json")
    operation = document["paths"]["/api/journeys/{journey_id}/report"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"journey_id", "version", "from", "to"}
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/JourneyReport"}
    assert "Comparison" in document["components"]["schemas"]
