"""The shipped examples run as documented: every scenario in ``examples/`` simulates with its
``expect`` block holding (exit 0) and prints JSON, the same bytes on every run, and every example
file passes ``itinera validate``.

The command is run as a user runs it: the ``itinera`` script installed next to the interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ITINERA = Path(sys.executable).parent / "itinera"
SCENARIOS = sorted(EXAMPLES.glob("*.scenario.yaml"))
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


def run(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(ITINERA), *args], capture_output=True, timeout=300, check=False)


def explain(result: subprocess.CompletedProcess[bytes]) -> str:
    return f"exit {result.returncode}\nstderr:\n{result.stderr.decode(errors='replace')}"


def test_the_examples_are_there() -> None:
    assert ITINERA.exists(), f"no itinera script next to {sys.executable}"
    assert len(SCENARIOS) >= 8, [p.name for p in SCENARIOS]
    for scenario in SCENARIOS:
        journey = scenario.with_name(scenario.name.replace(".scenario.", ".journey."))
        assert journey.exists(), f"{scenario.name} has no {journey.name}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_scenario_runs_and_its_expectations_hold(scenario: Path) -> None:
    result = run("simulate", str(scenario), "--json")
    assert result.returncode == 0, explain(result)
    output = json.loads(result.stdout)
    assert isinstance(output, dict)
    assert output["enrollments"], "the scenario enrolled nobody"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_scenario_output_is_byte_identical_across_runs(scenario: Path) -> None:
    first = run("simulate", str(scenario), "--json")
    second = run("simulate", str(scenario), "--json")
    assert first.returncode == 0, explain(first)
    assert second.returncode == 0, explain(second)
    assert first.stdout == second.stdout


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_file_validates(path: Path) -> None:
    result = run("validate", str(path))
    assert result.returncode == 0, explain(result)
    assert result.stdout.decode().strip() == f"ok {path}"
