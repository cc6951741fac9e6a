"""Each conformance case run as a user runs it — ``itinera simulate CASE --json`` in its own
process — and its result compared with ``CASE.expect.yaml`` (``expectations``); plus checks that
the comparison itself catches what it must."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conformance import CASES, expectation, scenarios
from conformance.expectations import differences, problems
from itinera.definitions import read_document

ALL = scenarios()


def run_case(path: Path) -> list[str]:
    expect = read_document(expectation(path)) or {}
    run = subprocess.run([sys.executable, "-m", "itinera", "simulate", str(path), "--json"],
                         capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    return problems(expect, run.returncode, run.stdout, run.stderr)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_case(path: Path) -> None:
    assert run_case(path) == []


def test_the_public_cases_and_our_own_are_all_here() -> None:
    names = {p.stem for p in ALL}
    public = {"01-round-robin-csm", "02-goal-continue-renewal", "03-ajo-buying-group-journey",
              "04-reenrollment", "05-unenroll-and-exit-criteria", "06-wait-for-click",
              "07-experiment", "08-invalid-journey"}
    assert public <= names
    assert len(names - public) >= 4  # Itinera's own
    assert all(expectation(p).is_file() for p in ALL)
    assert not [p for p in CASES.glob("*.expect.yaml")
                if not p.with_name(p.name.replace(".expect.yaml", ".yaml")).is_file()]


def test_a_case_fails_when_the_result_differs(tmp_path: Path) -> None:
    source = CASES / "01-round-robin-csm.yaml"
    path = tmp_path / source.name
    path.write_text(source.read_text())
    expect = expectation(source).read_text().replace("acme: {csm: ann}", "acme: {csm: bob}")
    expectation(path).write_text(expect)
    assert run_case(path) == ["accounts.acme.csm: expected 'bob', got 'ann'"]


def test_the_comparison_is_partial_but_counts_list_items() -> None:
    assert differences({"a": 1}, {"a": 1.004, "b": 2}, "x") == []
    assert differences(None, None, "x") == []
    assert differences(None, 0, "x") == ["x: expected null, got 0"]
    assert differences(True, 1, "x") == ["x: expected True, got 1"]
    assert differences([{"a": 1}], [{"a": 1}, {"a": 2}], "l")[0].startswith("l: 2 items, expected 1")
