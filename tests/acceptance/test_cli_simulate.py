"""`itinera simulate` as a user runs it: output, exit codes, --json, --until, expectations."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from itinera.cli.main import app

SCENARIO = """
start: 2026-01-05T09:00:00Z
until: 10d
data:
  csms: [{id: ann, name: Ann Lee}]
  accounts:
    - {id: acme, csm: ann, attributes: {name: Acme, tier: gold}}
    - {id: beta, csm: ann, attributes: {name: Beta, tier: gold}}
  people:
    - {id: p1, account: acme, email: cto@acme.test, attributes: {title: CTO}}
    - {id: p2, account: beta, email: ceo@beta.test, attributes: {title: CEO}, unsubscribed: true}
  segments:
    - {id: gold, when: {account.tier: gold}}
  templates:
    - {id: intro, subject: "An idea for {{ account.name }}", text: "Hi {{ person.title }}"}
journeys:
  - id: outreach
    entry: {segments: [gold], existing: true}
    start: intro
    nodes:
      intro: {do: [{send_email: {template: intro}}], next: wait-3d}
      wait-3d: {wait: 3d, next: call}
      call: {do: [{create_task: {title: "Call {{ account.name }}", assignee: csm, due: 1d}}]}
timeline:
  - {at: 0s, enable: outreach}
"""


def write(tmp_path: Path, text: str, expect: str = "") -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text + expect)
    return path


def test_report_names_journeys_nodes_deliveries_skips_and_tasks(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", str(write(tmp_path, SCENARIO))])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "outreach: 2 enrollments — 2 completed" in out
    assert "cto@acme.test" in out and "An idea for Acme" in out
    assert "skipped email to p2: unsubscribed" in out
    assert "task for ann: Call Acme (due 2026-01-09T09:00:00Z)" in out
    intro_row = next(line for line in out.splitlines() if line.startswith("intro "))
    assert intro_row.split()[1:] == ["2", "0", "0"]  # entered, waiting, ended here


def test_json_is_the_only_output_and_identical_on_reruns(tmp_path: Path) -> None:
    path = write(tmp_path, SCENARIO)
    first = CliRunner().invoke(app, ["simulate", str(path), "--json"])
    second = CliRunner().invoke(app, ["simulate", str(path), "--json"])
    assert first.exit_code == 0
    assert first.stdout == second.stdout
    result = json.loads(first.stdout)
    assert result["clock"] == {"start": "2026-01-05T09:00:00Z", "end": "2026-01-15T09:00:00Z"}
    assert [e["path"] for e in result["enrollments"]] == [["intro", "wait-3d", "call"]] * 2
    assert set(result) == {"clock", "enrollments", "deliveries", "skipped", "tasks", "campaigns",
                           "accounts", "people", "buying_groups"}


def test_until_overrides_the_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", str(write(tmp_path, SCENARIO)), "--json",
                                      "--until", "2d"])
    data = json.loads(result.stdout)
    assert data["clock"]["end"] == "2026-01-07T09:00:00Z"
    assert {e["status"] for e in data["enrollments"]} == {"active"}
    assert data["tasks"] == []


def test_a_failed_expectation_exits_1_and_says_which(tmp_path: Path) -> None:
    expect = """
expect:
  - {journey: outreach, account: acme, status: completed}
  - {journey: outreach, account: beta, status: exited}
  - {journey: outreach, count: 3}
"""
    result = CliRunner().invoke(app, ["simulate", str(write(tmp_path, SCENARIO, expect))])
    assert result.exit_code == 1
    assert "expect[1]: outreach/beta status is 'completed', expected 'exited'" in result.stderr
    assert "expect[2]: 2 enrollments, expected 3" in result.stderr
    assert "expect[0]" not in result.stderr


def test_held_expectations_exit_0(tmp_path: Path) -> None:
    expect = """
expect:
  - {journey: outreach, status: completed, path: [intro, wait-3d, call]}
  - {journey: outreach, account: acme, count: 1}
"""
    result = CliRunner().invoke(app, ["simulate", str(write(tmp_path, SCENARIO, expect))])
    assert result.exit_code == 0, result.stderr


def test_invalid_scenario_exits_2_with_every_place(tmp_path: Path) -> None:
    broken = SCENARIO.replace("next: wait-3d", "next: wait-3x").replace("{wait: 3d", "{wait: 3 d")
    result = CliRunner().invoke(app, ["simulate", str(write(tmp_path, broken)), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "journeys[0].nodes.intro.next" in result.stderr and "wait-3x" in result.stderr
    assert "journeys[0].nodes.wait-3d.wait" in result.stderr and "'3 d'" in result.stderr


def test_unreadable_files_exit_2(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["simulate", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("start: [unclosed\n")
    result = CliRunner().invoke(app, ["simulate", str(bad_yaml)])
    assert result.exit_code == 2 and "bad.yaml" in result.stderr
    bad_until = CliRunner().invoke(app, ["simulate", str(write(tmp_path, SCENARIO)),
                                         "--until", "soon"])
    assert bad_until.exit_code == 2 and "bad duration 'soon'" in bad_until.stderr


LOOP = """
start: 2026-01-05T09:00:00Z
data:
  accounts: [{id: acme, attributes: {flag: a}}]
  segments:
    - {id: sa, when: {account.flag: a}}
    - {id: sb, when: {account.flag: b}}
journeys:
  - id: ja
    entry: {segments: [sa], reenroll: always}
    start: x
    nodes: {x: {do: [{set: {account.flag: b}}]}}
  - id: jb
    entry: {segments: [sb], reenroll: always}
    start: y
    nodes: {y: {do: [{set: {account.flag: a}}]}}
timeline:
  - {at: 0s, enable: ja}
  - {at: 0s, enable: jb}
  - {at: 1d, upsert_account: {id: acme, attributes: {flag: b}}}
"""


def test_journeys_that_trigger_each_other_forever_are_stopped(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", str(write(tmp_path, LOOP)), "--json"])
    assert result.exit_code == 2
    assert "kept cascading after 100 rounds at 2026-01-06T09:00:00Z" in result.stderr
    assert result.stdout == ""
