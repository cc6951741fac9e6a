"""``itinera journeys`` and ``itinera enrollments`` on a live database: publish and change
journeys with no server running (this process applies) and beside a running worker (it
applies), refuse bad files whole with places, list and show enrollments with their history."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from itinera.cli.main import app
from itinera.runtime import Service
from itinera.runtime.worker import run_worker

runner = CliRunner()

JOURNEY = """
id: welcome
name: Welcome
entry: {segments: [gold]}
start: split
nodes:
  split:
    split:
      - {when: {account.size: Large}, next: hello}
      - {else: done}
  hello: {do: [{send_email: {template: hi}}], next: done}
  done: {end: true}
"""


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _configure(database_url: str) -> None:
    service = Service(database_url, sandbox=True)
    try:
        service.submit([{"configure": {
            "segments": [{"id": "gold", "when": {"account.tier": "gold"}}],
            "templates": [{"id": "hi", "subject": "Hi"}]}}])
        service.work()
    finally:
        service.close()


@pytest.fixture
def journey_file(tmp_path: Path) -> Path:
    path = tmp_path / "welcome.yaml"
    path.write_text(JOURNEY)
    return path


def test_publish_enable_and_read_with_no_server_running(database_url: str,
                                                          journey_file: Path) -> None:
    _configure(database_url)
    db = ("--database", database_url)
    code, out, err = _invoke("journeys", "publish", str(journey_file), "--enable", *db)
    assert code == 0, err
    assert out.splitlines() == ["published welcome", "enabled welcome"]
    assert "applied by this process" in err
    code, out, _ = _invoke("journeys", "list", "--json", *db)
    (listed,) = json.loads(out)
    assert (listed["id"], listed["status"], listed["version"]) == ("welcome", "enabled", 1)

    service = Service(database_url, sandbox=True)
    try:
        service.submit([{"upsert_account": {"id": "acme", "attributes": {"tier": "gold",
                                                                          "size": "Large"}}},
                        {"upsert_person": {"id": "p1", "account": "acme", "email": "p@a.test"}}])
        service.work()
    finally:
        service.close()
    code, out, _ = _invoke("enrollments", "list", "--journey", "welcome", "--json", *db)
    (enrollment,) = [json.loads(line) for line in out.splitlines()]
    assert (enrollment["account"], enrollment["status"]) == ("acme", "completed")
    assert enrollment["path"] == ["split", "hello", "done"]
    code, out, _ = _invoke("enrollments", "show", str(enrollment["id"]), "--json", *db)
    shown = json.loads(out)
    decision = next(h for h in shown["history"] if h.get("decision") == "split")
    assert decision["node"] == "split" and decision["next"] == "hello"
    code, out, _ = _invoke("enrollments", "show", str(enrollment["id"]), *db)
    assert code == 0 and "split" in out and "completed" in out
    assert _invoke("enrollments", "show", "999", *db)[0] == 1

    # The same file again (a deploy that changed nothing) makes no new version; --force does.
    code, out, _ = _invoke("journeys", "publish", str(journey_file), "--enable", *db)
    assert code == 0 and out.splitlines() == ["unchanged welcome (version 1)", "enabled welcome"]
    journey_file.write_text(JOURNEY.replace("name: Welcome", "name: Welcome aboard"))
    assert _invoke("journeys", "publish", str(journey_file), *db)[1] == "published welcome\n"
    assert _invoke("journeys", "publish", str(journey_file), "--force", *db)[1] == \
        "published welcome\n"
    versions = json.loads(_invoke("journeys", "show", "welcome", *db)[1])["versions"]
    assert [v["version"] for v in versions] == [1, 2, 3]

    code, out, err = _invoke("journeys", "pause", "welcome", *db)
    assert (code, out.strip()) == (0, "paused welcome")
    assert json.loads(_invoke("journeys", "show", "welcome", *db)[1])["status"] == "paused"


def test_bad_files_and_unknown_journeys_store_nothing(database_url: str, tmp_path: Path,
                                                      journey_file: Path) -> None:
    _configure(database_url)
    db = ("--database", database_url)
    bad = tmp_path / "bad.yaml"
    bad.write_text(JOURNEY.replace("next: done}", "next: nowhere}").replace("id: welcome",
                                                                            "id: other"))
    code, _, err = _invoke("journeys", "publish", str(journey_file), str(bad), *db)
    assert code == 2
    assert f"{bad}: nodes.hello.next: " in err and "nothing was stored" in err
    code, _, err = _invoke("journeys", "publish", str(bad), "--enable", *db)
    assert code == 2 and "enable" not in err  # not a second problem: it fails for the first
    code, _, err = _invoke("journeys", "publish", str(tmp_path / "nope.yaml"), *db)
    assert code == 2 and err.count("nope.yaml") == 1
    assert json.loads(_invoke("journeys", "list", "--json", *db)[1]) == []
    code, _, err = _invoke("journeys", "enable", "ghost", *db)
    assert code == 2 and "no journey 'ghost'" in err


@pytest.fixture
def running_worker(database_url: str) -> Iterator[Service]:
    service = Service(database_url, sandbox=True)
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(service, stop, 0.05), daemon=True)
    thread.start()
    yield service
    stop.set()
    service.wake()
    thread.join(10)
    service.close()


def test_beside_a_running_worker_the_worker_applies(database_url: str, journey_file: Path,
                                                    running_worker: Service) -> None:
    running_worker.submit([{"configure": {
        "segments": [{"id": "gold", "when": {"account.tier": "gold"}}],
        "templates": [{"id": "hi", "subject": "Hi"}]}}])
    code, _, err = _invoke("journeys", "publish", str(journey_file), "--enable",
                           "--database", database_url)
    assert code == 0, err
    assert "applied by a running worker" in err
    (listed,) = json.loads(_invoke("journeys", "list", "--json", "--database", database_url)[1])
    assert listed["status"] == "enabled"


def test_list_filters_are_checked(database_url: str) -> None:
    _configure(database_url)
    code, _, err = _invoke("enrollments", "list", "--status", "bogus", "--database", database_url)
    assert code == 2 and "'bogus' is not one of active, completed, exited, unenrolled" in err
    code, _, err = _invoke("deliveries", "list", "--channel", "sms", "--database", database_url)
    assert code == 2 and "'sms' is not one of" in err
