"""A scenario's ``workspace: FILE``: the workspace file production applies comes first, the
scenario's ``data`` may only add to it, and every problem is placed in the file it lies in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from itinera.cli.main import app
from itinera.definitions import load_scenario, load_workspace, validate_scenario
from itinera.errors import DefinitionError
from itinera.simulate.runner import simulate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WORKSPACE: dict[str, Any] = {
    "csms": [{"id": "ann", "name": "Ann Lee"}],
    "role_templates": [{"id": "first", "roles": [{"name": "Champion"}]}],
    "scoring": {"email.clicked": 5},
    "segments": [{"id": "trials", "when": {"account.plan": "trial"}}],
    "templates": [{"id": "welcome", "subject": "Hi {{ account.name }}"},
                  {"id": "nudge", "subject": "Still there?"}],
}


def scenario(data: dict[str, Any] | None = None, **keys: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "start": "2026-01-05T09:00:00Z", "until": "2d", "workspace": "ws.yaml",
        "data": {"accounts": [{"id": "acme", "attributes": {"name": "Acme", "plan": "trial"}}],
                 "people": [{"id": "ada", "account": "acme", "email": "ada@acme.test"}],
                 **(data or {})},
        "journeys": [{"id": "j", "entry": {"segments": ["trials"], "existing": True}, "start": "a",
                      "nodes": {"a": {"do": [{"send_email": {"template": "welcome"}}]}}}],
        "timeline": [{"at": "0s", "enable": "j"}],
    }
    raw.update(keys)
    return raw


def problems(tmp_path: Path, raw: dict[str, Any], workspace: Any = None) -> list[str]:
    (tmp_path / "ws.yaml").write_text(yaml.safe_dump(WORKSPACE if workspace is None else workspace))
    loaded, found = validate_scenario(raw, tmp_path)
    assert (loaded is None) == bool(found)
    return [str(p) for p in found]


def test_the_workspace_file_comes_first_and_data_adds_to_it(tmp_path: Path) -> None:
    added = {"segments": [{"id": "big", "when": {"account.size": {"gt": 10}}}],
             "templates": [WORKSPACE["templates"][1], {"id": "extra", "subject": "More"}],
             "role_templates": [{"id": "second", "roles": [{"name": "User"}]}],
             "scoring": {"email.opened": 1, "email.clicked": 5}}
    (tmp_path / "ws.yaml").write_text(yaml.safe_dump(WORKSPACE))
    loaded, found = validate_scenario(scenario(added), tmp_path)
    assert found == [] and loaded is not None
    data = loaded.scenario.data
    assert [s.id for s in data.segments] == ["trials", "big"]
    assert [t.id for t in data.templates] == ["welcome", "nudge", "extra"]  # identical: once
    assert [r.id for r in data.role_templates] == ["first", "second"]  # the file's stays first
    assert data.scoring == {"email.clicked": 5, "email.opened": 1}
    assert [c.id for c in data.csms] == ["ann"] and [a.id for a in data.accounts] == ["acme"]
    assert loaded.scenario.workspace == "ws.yaml"


def test_data_may_not_change_what_the_workspace_file_defines(tmp_path: Path) -> None:
    changed = {"templates": [{"id": "mine", "subject": "Mine"},
                             {"id": "welcome", "subject": "Another text"}],
               "scoring": {"email.clicked": 50},
               "segments": [{"id": "trials", "when": {"account.plan": "x"}}]}
    assert sorted(problems(tmp_path, scenario(changed))) == [
        "data.scoring.email.clicked: the scoring rule for 'email.clicked' is set by ws.yaml; a "
        "scenario adds to its workspace file, it does not change it",
        "data.segments[0]: segment 'trials' is defined by ws.yaml; a scenario adds to its "
        "workspace file, it does not change it",
        "data.templates[1]: template 'welcome' is defined by ws.yaml; a scenario adds to its "
        "workspace file, it does not change it",
    ]


def test_problems_are_placed_in_the_file_they_lie_in(tmp_path: Path) -> None:
    workspace = {**WORKSPACE, "segments": [{"id": "trials", "when": {"account.plan": {"nope": 1}}}],
                 "accounts": []}
    own = {"templates": [{"id": "broken", "subject": "{{ account.name "}]}
    found = problems(tmp_path, scenario(own), workspace)
    assert any(p.startswith("ws.yaml: segments[0].when") for p in found), found
    assert "ws.yaml: accounts: unknown key 'accounts'" in found
    assert any(p.startswith("data.templates[0].subject: ") for p in found), found  # its own index
    assert not [p for p in found if p.startswith("data.segments")], found


def test_a_missing_or_malformed_workspace_reference_is_named(tmp_path: Path) -> None:
    found = problems(tmp_path, scenario(workspace="nowhere.yaml"))
    assert found[0].startswith("workspace: ") and "nowhere.yaml" in found[0]
    assert problems(tmp_path, scenario(workspace=3))[0].startswith(
        "workspace: expected the path of a workspace file")


def test_the_example_simulates_exactly_as_with_the_workspace_copied_in(tmp_path: Path) -> None:
    example = EXAMPLES / "ajo-bodea-product-x.scenario.yaml"
    raw = yaml.safe_load(example.read_text())
    workspace = yaml.safe_load((EXAMPLES / raw.pop("workspace")).read_text())
    raw["data"] = {**workspace, **raw["data"]}
    raw["journey_files"] = [str(EXAMPLES / f) for f in raw["journey_files"]]
    copied = tmp_path / "copied.yaml"
    copied.write_text(yaml.safe_dump(raw))
    results = []
    for path in (example, copied):
        simulation = simulate(load_scenario(path))
        results.append(simulation.result())
        simulation.store.close()
    assert results[0] == results[1] and results[0]["deliveries"]


def test_validate_and_workspace_options_read_it(tmp_path: Path) -> None:
    example = EXAMPLES / "ajo-bodea-product-x.scenario.yaml"
    assert [t.id for t in load_workspace(example).templates] == [
        "dm-intro", "analyst-deep-dive", "dm-reminder"]
    journey = EXAMPLES / "ajo-bodea-product-x.journey.yaml"
    result = CliRunner().invoke(app, ["validate", str(example), str(journey), "--workspace", str(example)])
    assert result.exit_code == 0, result.output
    (tmp_path / "ws.yaml").write_text(yaml.safe_dump({**WORKSPACE, "templates": "no"}))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario()))
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "s.yaml")])
    assert result.exit_code == 2
    assert f"{tmp_path / 's.yaml'}: ws.yaml: templates: " in result.stderr
    with pytest.raises(DefinitionError, match=r"ws\.yaml: templates: "):
        load_workspace(tmp_path / "s.yaml")


def test_validate_checks_a_workspace_file_as_workspace_apply_does(tmp_path: Path) -> None:
    good = EXAMPLES / "ajo-bodea-product-x.workspace.yaml"
    result = CliRunner().invoke(app, ["validate", str(good)])
    assert result.exit_code == 0 and result.stdout == f"ok {good}\n", result.output
    bad = tmp_path / "ws.yaml"
    bad.write_text(yaml.safe_dump({**WORKSPACE, "templates": [{"id": "t", "subject": "{{ x"}]}))
    result = CliRunner().invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2 and f"{bad}: templates[0].subject: " in result.stderr
