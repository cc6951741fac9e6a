"""The live service, fed a scenario's inputs as they would arrive, ends in exactly the state
`itinera simulate` reports for that scenario: same enrollments, paths, effects and data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance import scenarios
from itinera.definitions.loader import LoadedScenario, load_scenario
from itinera.definitions.scenario import WorkspaceData
from itinera.errors import DefinitionError
from itinera.runtime import ManualClock, Service
from itinera.simulate.result import build_result
from itinera.simulate.runner import simulate
from itinera.timeutil import parse_duration, parse_instant

ROOT = Path(__file__).resolve().parents[2]
CASES = scenarios(valid_only=True)
EXAMPLES = sorted((ROOT / "examples").glob("*.scenario.yaml"))


def run_live(loaded: LoadedScenario, database_url: str) -> dict[str, Any]:
    scenario = loaded.scenario
    start = parse_instant(scenario.start)
    end = start + parse_duration(scenario.until)
    clock = ManualClock(start)
    service = Service(database_url, clock, sandbox=True)
    try:
        workspace = scenario.data.model_dump(mode="json", include=set(WorkspaceData.model_fields))
        service.submit([{"configure": workspace}])
        service.submit([{"load_world": scenario.data.model_dump(mode="json")}])
        service.submit([{"publish": j.model_dump(mode="json", by_alias=True, exclude_none=True)}
                        for j in loaded.journeys])
        service.work()
        entries = sorted(enumerate(scenario.timeline),
                         key=lambda item: (parse_duration(item[1].at), item[0]))
        for _, entry in entries:
            at = start + parse_duration(entry.at)
            if at > end:
                break
            clock.set(at)
            service.work()
            body = entry.model_dump(mode="json", by_alias=True, exclude_unset=True)
            service.submit([{k: body[k] for k in (entry.kind, "moves", "move_matching")
                             if k in body}])
            service.work()
        clock.set(end)
        service.work()
        return build_result(service.store, service.engine.workspace, start, end)
    finally:
        service.close()


def simulated(path: Path) -> dict[str, Any]:
    simulation = simulate(load_scenario(path))
    try:
        return simulation.result()
    finally:
        simulation.store.close()


def test_every_case_and_example_is_compared() -> None:
    assert len(CASES) >= 10 and len(EXAMPLES) >= 8, (CASES, EXAMPLES)


@pytest.mark.parametrize("path", CASES + EXAMPLES, ids=lambda p: p.name)
def test_live_service_matches_the_simulator(path: Path, database_url: str) -> None:
    assert run_live(load_scenario(path), database_url) == simulated(path)


def test_a_bad_input_rejects_the_whole_batch_with_its_place(database_url: str) -> None:
    service = Service(database_url, ManualClock(parse_instant("2026-01-05T09:00:00Z")))
    try:
        with pytest.raises(DefinitionError) as caught:
            service.submit([
                {"upsert_account": {"id": "acme", "attributes": {"name": "Acme"}}},
                {"event": {"account": "acme"}},
                {"teleport": {}},
            ])
        places = [p.place for p in caught.value.problems]
        assert "inputs[1].event.type" in places
        assert any(p.startswith("inputs[2]") for p in places)
        assert service.work() == 0  # nothing of the batch was stored
    finally:
        service.close()


def test_a_repeated_event_id_is_applied_once(database_url: str) -> None:
    clock = ManualClock(parse_instant("2026-01-05T09:00:00Z"))
    service = Service(database_url, clock)
    try:
        service.submit([{"upsert_account": {"id": "acme", "attributes": {"n": 0}}}])
        event = {"event": {"id": "e-1", "type": "clicked", "account": "acme"}}
        service.submit([event])
        service.submit([event])
        assert service.work() == 2
        service.submit([event])  # even much later, after it was applied
        service.work()
        with service.store.transaction():
            assert [e.id for e in service.store.events_of("acme", "clicked")] == ["e-1"]
    finally:
        service.close()
