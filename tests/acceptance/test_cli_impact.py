"""``itinera journeys impact FILE`` and ``itinera journeys publish FILE --move OLD=NEW
--move-matching`` on a live database (no server running: this process applies)."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from itinera.cli.main import app
from itinera.runtime import Service
from itinera.storage import schema as t

runner = CliRunner()

V1 = """
id: nurture
entry: {segments: [members], existing: true}
start: first
nodes:
  first: {wait: 10d, next: done}
  done: {end: true}
"""


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _versions(database_url: str) -> list[int]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return sorted(connection.execute(sa.select(t.enrollments.c.version)).scalars())
    finally:
        engine.dispose()


def test_impact_then_publish_with_moves(tmp_path: Path, database_url: str) -> None:
    service = Service(database_url, sandbox=True)
    try:
        service.submit([
            {"configure": {"segments": [{"id": "members", "when": {"account.member": True}}]}},
            {"upsert_account": {"id": "a1", "attributes": {"member": True}}},
            {"upsert_account": {"id": "a2", "attributes": {"member": True}}}])
        service.work()
    finally:
        service.close()
    v1 = tmp_path / "v1.yaml"
    v1.write_text(V1, encoding="utf-8")
    assert _invoke("journeys", "publish", str(v1), "--enable", "--database", database_url)[0] == 0
    v2 = tmp_path / "v2.yaml"
    v2.write_text(V1.replace("first: {wait: 10d", "later: {wait: 3d")
                  .replace("start: first", "start: later"), encoding="utf-8")

    code, out, err = _invoke("journeys", "impact", str(v2), "--json", "--database", database_url)
    assert code == 0, err
    found = json.loads(out)
    assert [(g["node"], g["enrollments"], g["action"]) for g in found["groups"]] == [
        ("first", 2, "stay")]
    assert found["flagged"] == {}  # nothing is flagged while no move is asked for

    code, out, err = _invoke("journeys", "impact", str(v2), "--move", "first=later",
                             "--database", database_url)
    assert code == 0, err
    assert "2 would move" in out and "later" in out

    code, _, err = _invoke("journeys", "publish", str(v2), "--move", "first=nowhere",
                           "--database", database_url)
    assert code == 2 and "moves.first" in err and "nowhere" in err
    code, _, err = _invoke("journeys", "publish", str(v2), "--move", "first=later",
                           "--database", database_url)
    assert code == 0, err
    assert _versions(database_url) == [2, 2]
