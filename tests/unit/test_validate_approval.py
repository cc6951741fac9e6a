"""`itinera validate --workspace` under the approval workflow says what needs approval instead
of "ok" (exit 0: the file is valid; the reviews live in the store)."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from itinera.cli.main import app

JOURNEY = {"id": "hello", "entry": {"event": {"type": "signed_up"}}, "start": "greet",
           "nodes": {"greet": {"do": [{"send_email": {"template": "hello"}},
                                      {"send_email": {"template": "hello"}}]}}}


def _validate(tmp_path: Path, approval: dict[str, bool] | None) -> tuple[int, str]:
    workspace: dict[str, object] = {"templates": [{"id": "hello", "subject": "Hi"}]}
    if approval is not None:
        workspace["approval"] = approval
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    (tmp_path / "hello.journey.yaml").write_text(yaml.safe_dump(JOURNEY))
    result = CliRunner().invoke(app, ["validate", "--workspace", str(tmp_path / "workspace.yaml"),
                                      str(tmp_path / "hello.journey.yaml")])
    return result.exit_code, result.output


def test_ok_without_the_workflow(tmp_path: Path) -> None:
    assert _validate(tmp_path, None) == (0, f"ok {tmp_path / 'hello.journey.yaml'}\n")
    assert _validate(tmp_path, {"journeys": False})[1].startswith("ok ")


def test_under_it_each_review_needed_is_said(tmp_path: Path) -> None:
    code, out = _validate(tmp_path, {"templates": True, "journeys": True})
    assert code == 0
    lines = out.splitlines()
    assert not any(line.startswith("ok ") for line in lines)
    file = tmp_path / "hello.journey.yaml"
    assert lines == [
        f"needs approval {file}: journey 'hello' needs an approved review before it is "
        f"published (approval.journeys is on in {tmp_path / 'workspace.yaml'})",
        f"needs approval {file}: nodes.greet.do[0].send_email.template: template 'hello' needs "
        f"an approved review of its content before it is sent (approval.templates is on in "
        f"{tmp_path / 'workspace.yaml'})"]


def test_a_scenario_may_not_turn_it_off(tmp_path: Path) -> None:
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(
        {"approval": {"templates": True}, "templates": [{"id": "hello", "subject": "Hi"}]}))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({
        "workspace": "workspace.yaml", "data": {"approval": {"templates": False}},
        "journeys": [JOURNEY], "timeline": []}))
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "s.yaml")])
    assert result.exit_code == 2
    assert "data.approval" in result.output and "does not change it" in result.output
