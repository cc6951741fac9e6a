"""Scenario files kept in the workspace, and running them against a draft journey.

A kept scenario is its file as written plus the files it names (``journey_files``, its
``workspace`` file), by the names it uses, so that it runs as ``itinera simulate`` runs it in
its folder: :func:`materialize` writes them to a temporary folder. A scenario *exercises* a
draft journey when it runs a journey of the draft's id from its start (inline or in a file);
:func:`run_against` runs it with the draft in that journey's place and says of each
expectation whether it held, with its place (``expect[2]``).

Everything here is bounded: a scenario and its files together at most :data:`MAX_BYTES`, at
most :data:`MAX_FILES` files, each name relative and inside the scenario's folder; each file
is read by ``parse_document`` (its limits of size, depth and values).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa

from itinera.definitions._documents import parse_document
from itinera.definitions.loader import load_scenario
from itinera.definitions.validate import LoadedScenario
from itinera.domain.actor import Actor
from itinera.errors import DefinitionError, ItineraError, Problem
from itinera.simulate.result import check_expectations
from itinera.simulate.runner import simulate
from itinera.storage import schema as t
from itinera.timeutil import format_instant

__all__ = ["MAX_BYTES", "MAX_FILES", "KeptScenario", "ScenarioProblem", "add_scenario",
           "get_scenario", "list_scenarios", "materialize", "remove_scenario", "run_against",
           "scenario_journeys"]

MAX_BYTES = 4 * 1024 * 1024
MAX_FILES = 20
MAX_SCENARIOS = 500
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MAIN = "scenario"


class ScenarioProblem(ItineraError):
    """A scenario that cannot be kept (``problems`` say why, each with its place)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class KeptScenario:
    name: str
    text: str
    files: dict[str, str]
    journeys: list[str]
    added_at: datetime
    added_by: str

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "journeys": self.journeys, "files": sorted(self.files),
                "added_at": format_instant(self.added_at), "added_by": self.added_by}


def _file_name(name: str) -> str:
    return name if name.endswith((".yaml", ".yml", ".json")) else f"{name}.scenario.yaml"


def _check_bundle(name: str, text: str, files: dict[str, str]) -> list[Problem]:
    problems = []
    if not _NAME.fullmatch(name):
        problems.append(Problem("name", "a scenario's name is 1 to 128 letters, digits, '.', "
                                        "'_' or '-', starting with a letter or digit"))
    if len(files) > MAX_FILES:
        problems.append(Problem("files", f"at most {MAX_FILES} files, got {len(files)}"))
    size = len(text.encode()) + sum(len(k.encode()) + len(v.encode()) for k, v in files.items())
    if size > MAX_BYTES:
        problems.append(Problem("", f"too large: {size:,} bytes with its files (at most "
                                    f"{MAX_BYTES:,})"))
    for file in files:
        path = PurePosixPath(file)
        if path.is_absolute() or ".." in path.parts or not path.parts or "\\" in file \
                or file == _file_name(name):
            problems.append(Problem(f"files.{file}", "a file's name is relative to the "
                                                     "scenario's folder and inside it"))
    return problems


@contextmanager
def materialize(name: str, text: str, files: dict[str, str]) -> Iterator[Path]:
    """The scenario file, with its files beside it as it names them, in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="itinera-scenario-") as folder:
        base = Path(folder)
        for file, content in files.items():
            target = base / file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        main = base / _file_name(name)
        main.write_text(text, encoding="utf-8")
        yield main


def _load(path: Path) -> LoadedScenario:
    try:
        return load_scenario(path)
    except DefinitionError as error:
        raise ScenarioProblem(error.problems) from None
    except OSError as error:  # a file it names that was not given
        raise ScenarioProblem([Problem("", str(error))]) from None


def scenario_journeys(loaded: LoadedScenario) -> list[str]:
    """The ids of the journeys a scenario runs from its start (inline and in its files): those
    a draft may stand in for."""
    return list(dict.fromkeys(j.id for j in loaded.journeys))


def add_scenario(connection: sa.Connection, name: str, text: str, files: dict[str, str],
                 actor: Actor, now: datetime) -> KeptScenario:
    """Keep a valid scenario (replacing one of the same name); :class:`ScenarioProblem` lists
    every problem otherwise, and nothing is kept."""
    problems = _check_bundle(name, text, files)
    if problems:
        raise ScenarioProblem(problems)
    with materialize(name, text, files) as path:
        journeys = scenario_journeys(_load(path))
    kept = connection.execute(sa.select(sa.func.count()).select_from(t.scenarios)
                              .where(t.scenarios.c.name != name)).scalar_one()
    if kept >= MAX_SCENARIOS:
        raise ScenarioProblem([Problem("", f"the workspace keeps at most {MAX_SCENARIOS} "
                                           "scenarios: remove some first")])
    connection.execute(sa.delete(t.scenarios).where(t.scenarios.c.name == name))
    connection.execute(sa.insert(t.scenarios).values(
        name=name, text=text, files=files, journeys=journeys, added_at=now, added_by=actor.label))
    return KeptScenario(name, text, dict(files), journeys, now, actor.label)


def _kept(row: Any) -> KeptScenario:
    return KeptScenario(row.name, row.text, dict(row.files), list(row.journeys), row.added_at,
                        row.added_by)


def list_scenarios(connection: sa.Connection, journey: str | None = None) -> list[KeptScenario]:
    """The kept scenarios by name; with ``journey``, those that exercise it."""
    found = [_kept(r) for r in connection.execute(sa.select(t.scenarios)
                                                  .order_by(t.scenarios.c.name))]
    return [s for s in found if journey is None or journey in s.journeys]


def get_scenario(connection: sa.Connection, name: str) -> KeptScenario | None:
    row = connection.execute(sa.select(t.scenarios).where(t.scenarios.c.name == name)).first()
    return None if row is None else _kept(row)


def remove_scenario(connection: sa.Connection, name: str) -> bool:
    return bool(connection.execute(sa.delete(t.scenarios)
                                   .where(t.scenarios.c.name == name)).rowcount)


def _with_draft(path: Path, draft_id: str, draft: dict[str, Any]) -> bool:
    """Put ``draft`` in place of the scenario's journey ``draft_id`` (in its files and inline);
    whether there was one."""
    folder = path.parent
    raw = parse_document(path.read_text(encoding="utf-8"), path.name)
    replaced = False
    files = raw.get("journey_files") if isinstance(raw, dict) else None
    for name in files if isinstance(files, list) else []:
        target = folder / str(name)
        try:
            journey = parse_document(target.read_text(encoding="utf-8"), str(name))
        except (OSError, DefinitionError):
            continue  # loading the scenario says what is wrong with it
        if isinstance(journey, dict) and journey.get("id") == draft_id:
            target.write_text(json.dumps(draft), encoding="utf-8")  # JSON is YAML
            replaced = True
    inline = raw.get("journeys") if isinstance(raw, dict) else None
    if isinstance(inline, list) and any(isinstance(j, dict) and j.get("id") == draft_id
                                        for j in inline):
        raw["journeys"] = [draft if isinstance(j, dict) and j.get("id") == draft_id else j
                           for j in inline]
        path.write_text(json.dumps(raw), encoding="utf-8")
        replaced = True
    return replaced


def run_against(name: str, text: str, files: dict[str, str], draft_id: str,
                draft: dict[str, Any]) -> dict[str, Any]:
    """Run the scenario with ``draft`` (a journey as JSON) in place of its journey
    ``draft_id``: ``{scenario, ok, problems, expectations: [{place, held, message}],
    enrollments, deliveries, tasks}``. Problems (the draft's included, placed in the file that
    holds it) mean it did not run."""
    out: dict[str, Any] = {"scenario": name, "ok": False, "problems": [], "expectations": []}
    with materialize(name, text, files) as path:
        try:
            if not _with_draft(path, draft_id, draft):
                out["problems"] = [{"place": "", "message": f"the scenario has no journey "
                                                            f"{draft_id!r} for the draft to replace"}]
                return out
            loaded = _load(path)
        except ScenarioProblem as error:
            out["problems"] = [{"place": p.place, "message": p.message} for p in error.problems]
            return out
        except DefinitionError as error:
            out["problems"] = [{"place": p.place, "message": p.message} for p in error.problems]
            return out
    try:
        simulation = simulate(loaded)
    except ItineraError as error:  # e.g. journeys whose actions keep triggering each other
        out["problems"] = [{"place": "", "message": f"the scenario could not run: {error}"}]
        return out
    result = simulation.result()
    simulation.store.close()
    for i, expect in enumerate(loaded.scenario.expect):
        misses = [m.replace("expect[0]", f"expect[{i}]", 1)
                  for m in check_expectations(result, [expect])]
        out["expectations"].append({
            "place": f"expect[{i}]", "held": not misses, "message": "; ".join(misses) or None,
            "expect": expect.model_dump(mode="json", exclude_none=True)})
    out["ok"] = all(e["held"] for e in out["expectations"])
    out["enrollments"] = len(result["enrollments"])
    out["deliveries"] = len(result["deliveries"])
    out["tasks"] = len(result["tasks"])
    return out
