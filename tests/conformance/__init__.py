"""The conformance cases, kept in this repository (``cases/``): each ``NAME.yaml`` is a scenario,
``NAME.expect.yaml`` what its ``itinera simulate --json`` result must contain.

``01``–``08`` are the public cases of the language contract, copied unchanged; the others are
Itinera's own, written the same way. Every helper here fails loudly on a missing folder or an empty
list, so a moved folder can never make a test pass by running nothing.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CASES", "case", "scenarios"]

CASES = Path(__file__).resolve().parent / "cases"


def scenarios(*, valid_only: bool = False) -> list[Path]:
    """Every case's scenario, in name order; ``valid_only``: those expected to run (exit 0)."""
    found = sorted(p for p in CASES.glob("*.yaml") if not p.name.endswith(".expect.yaml"))
    if not found:
        raise AssertionError(f"no conformance cases in {CASES}")
    if valid_only:
        from itinera.definitions import read_document

        found = [p for p in found if (read_document(expectation(p)) or {}).get("exit_code", 0) == 0]
    return found


def expectation(scenario: Path) -> Path:
    """The ``NAME.expect.yaml`` beside ``NAME.yaml``."""
    return scenario.with_name(scenario.name[: -len(".yaml")] + ".expect.yaml")


def case(name: str) -> Path:
    """One case's scenario by name (``01-round-robin-csm``); an unknown name is an error."""
    path = CASES / f"{name}.yaml"
    if not path.is_file():
        raise AssertionError(f"no conformance case {path}")
    return path
