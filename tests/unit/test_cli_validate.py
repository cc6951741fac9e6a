"""``itinera validate`` and ``itinera schema``, registered on a bare Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from conformance import CASES
from itinera.cli.validate_cmd import register
from itinera.definitions import journey_schema, scenario_schema, workspace_schema

JOURNEY = ("id: onboarding\nentry: {segments: [new]}\nstart: a\n"
           "nodes:\n  a: {do: [{send_email: {template: welcome}}]}\n")


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    register(application)
    return application


def test_valid_files_print_ok_and_exit_0(app: typer.Typer, tmp_path: Path) -> None:
    journey = tmp_path / "onboarding.yaml"
    journey.write_text(JOURNEY)
    scenario = CASES / "01-round-robin-csm.yaml"
    result = CliRunner().invoke(app, ["validate", str(scenario), str(journey)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"ok {scenario}", f"ok {journey}"]
    assert result.stderr == ""


def test_invalid_scenario_lists_every_problem_on_stderr_and_exits_2(app: typer.Typer) -> None:
    scenario = CASES / "08-invalid-journey.yaml"
    result = CliRunner().invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert f"{scenario}: journeys[0].nodes.check.split[0].next: no node 'dne'" in lines
    assert f"{scenario}: journeys[0].nodes.orphan: unreachable from start 'check'" in lines
    problem_lines = [line for line in lines if line.startswith(f"{scenario}: ")]
    assert len(problem_lines) == 5


def test_mixed_files_report_each(app: typer.Typer, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(JOURNEY)
    bad.write_text(JOURNEY.replace("start: a", "start: b"))
    result = CliRunner().invoke(app, ["validate", str(good), str(bad)])
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [f"ok {good}"]
    assert f"{bad}: start: no node 'b'" in result.stderr.splitlines()


def test_workspace_checks_standalone_journeys(app: typer.Typer, tmp_path: Path) -> None:
    journey = tmp_path / "onboarding.yaml"
    journey.write_text(JOURNEY)
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text("segments: [{id: new, when: {account.stage: new}}]\ntemplates: []\n")
    result = CliRunner().invoke(app, ["validate", "--workspace", str(workspace), str(journey)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"{journey}: nodes.a.do[0].send_email.template: no template 'welcome'")


def test_a_scenario_can_serve_as_workspace(app: typer.Typer, tmp_path: Path) -> None:
    journey = tmp_path / "j.yaml"
    journey.write_text(JOURNEY.replace("[new]", "[renewal-soon]").replace("welcome", "thank-you"))
    workspace = CASES / "02-goal-continue-renewal.yaml"
    result = CliRunner().invoke(app, ["validate", "--workspace", str(workspace), str(journey)])
    assert result.exit_code == 0, result.output


def test_invalid_workspace_exits_2(app: typer.Typer, tmp_path: Path) -> None:
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text("csms: 5\n")
    journey = tmp_path / "j.yaml"
    journey.write_text(JOURNEY)
    result = CliRunner().invoke(app, ["validate", "--workspace", str(workspace), str(journey)])
    assert result.exit_code == 2
    assert f"{workspace}: csms: Input should be a valid list, got 5" in result.stderr.splitlines()


def test_syntax_error_and_missing_file(app: typer.Typer, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: j\nnodes: [\n")
    result = CliRunner().invoke(app, ["validate", str(broken), str(tmp_path / "gone.yaml")])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert any(line.startswith(f"{broken}:3: ") for line in lines)
    assert any(line.startswith(f"{tmp_path / 'gone.yaml'}: cannot read") for line in lines)


def test_long_problem_lines_are_not_wrapped(app: typer.Typer, tmp_path: Path) -> None:
    journey = tmp_path / ("x" * 120 + ".yaml")
    journey.write_text(JOURNEY.replace("start: a", "start: " + "b" * 100))
    result = CliRunner().invoke(app, ["validate", str(journey)])
    assert f"{journey}: start: no node '{'b' * 100}'" in result.stderr.splitlines()


@pytest.mark.parametrize(("args", "expected"), [
    (["schema"], journey_schema()),
    (["schema", "journey"], journey_schema()),
    (["schema", "scenario"], scenario_schema()),
    (["schema", "workspace"], workspace_schema()),
])
def test_schema_prints_json(app: typer.Typer, args: list[str], expected: object) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == expected


def test_schema_rejects_unknown_kind(app: typer.Typer) -> None:
    assert CliRunner().invoke(app, ["schema", "nonsense"]).exit_code == 2


def test_line_numbers_are_not_read_as_emoji_codes(app: typer.Typer, tmp_path: Path) -> None:
    journey = tmp_path / "j.yaml"
    journey.write_text(JOURNEY + "#\n" * 94 + "x: .nan\n")  # line 100: `:100:` is rich's 💯
    result = CliRunner().invoke(app, ["validate", str(journey)])
    assert result.stderr.splitlines()[0] == f"{journey}:100: not a finite number: .nan (quote " \
                                            "it if it is text)"
