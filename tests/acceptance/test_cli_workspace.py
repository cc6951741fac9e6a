"""``itinera workspace apply|show``: configure a live store from a file (workspace keys, or a
scenario's data without its world), every problem with its place and nothing stored, and read
it back in the form apply takes — then a journey referring to it publishes."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from itinera.cli.main import app
from itinera.storage import schema as t

runner = CliRunner()

WORKSPACE = """
csms: [{id: ann, name: Ann}]
segments: [{id: gold, when: {account.tier: gold}}]
templates: [{id: hi, subject: "Hi {{ person.first_name }}"}]
scoring: {email.clicked: 10}
frequency_caps: {email: {max: 3, per: 7d}}
quiet_hours: {email: {start: "21:00", end: "08:00", time_zone: Europe/Paris}}
"""


def test_apply_then_show_then_publish(database_url: str, tmp_path: Path) -> None:
    db = ("--database", database_url)
    path = tmp_path / "workspace.yaml"
    path.write_text(WORKSPACE)
    applied = runner.invoke(app, ["workspace", "apply", str(path), *db])
    assert applied.exit_code == 0, applied.stderr
    assert applied.stdout.strip() == ("configured: csms 1, segments 1, templates 1, scoring 1, "
                                      "frequency caps 1, quiet hours 1")
    shown = yaml.safe_load(runner.invoke(app, ["workspace", "show", *db]).stdout)
    assert shown["csms"] == [{"id": "ann", "name": "Ann"}]
    assert shown["segments"] == [{"id": "gold", "when": {"account.tier": "gold"}}]
    assert shown["scoring"] == {"email.clicked": 10.0}
    assert shown["frequency_caps"] == {"email": {"max": 3, "per": "7d"}}
    assert shown["quiet_hours"]["email"]["start"] == "21:00"
    as_json = json.loads(runner.invoke(app, ["workspace", "show", "--json", *db]).stdout)
    assert as_json["templates"][0]["subject"] == "Hi {{ person.first_name }}"

    journey = tmp_path / "j.yaml"
    journey.write_text("id: j\nentry: {segments: [gold]}\nstart: a\n"
                       "nodes: {a: {do: [{send_email: {template: hi}}]}}\n")
    assert runner.invoke(app, ["journeys", "publish", str(journey), *db]).exit_code == 0


def test_a_scenario_files_data_configures_without_its_world(database_url: str) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "csb-renewal.scenario.yaml"
    applied = runner.invoke(app, ["workspace", "apply", str(example), "--database", database_url])
    assert applied.exit_code == 0, applied.stderr
    assert "segments" in applied.stdout and "accounts" not in applied.stdout
    with sa.create_engine(database_url).connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(t.accounts)).scalar() == 0


def test_bad_workspace_files_store_nothing(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("segments: [{id: gold, when: {account.tier: {between: 1}}}]\n"
                    "quiet_hours: {email: {start: 9pm, end: '08:00'}}\n")
    failed = runner.invoke(app, ["workspace", "apply", str(path), "--database", database_url])
    assert failed.exit_code == 2
    assert f"{path}: quiet_hours.email.start: a time of day" in failed.stderr
    assert f"{path}: segments[0].when.account.tier" in failed.stderr
    shown = runner.invoke(app, ["workspace", "show", "--json", "--database", database_url])
    if database_url.startswith("sqlite"):  # not even the database was made
        assert shown.exit_code == 2 and "no database at" in shown.stderr
    else:
        assert json.loads(shown.stdout) == {}
    missing = runner.invoke(app, ["workspace", "apply", str(tmp_path / "nope.yaml"),
                                  "--database", database_url])
    assert missing.exit_code == 2 and "nope.yaml" in missing.stderr
