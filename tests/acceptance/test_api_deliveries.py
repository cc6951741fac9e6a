"""Deliveries over the API and the CLI: an email the SMTP server refuses for good is a dead
letter, listed with its last error; retried, it goes out — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from api_support import Api, open_api
from typer.testing import CliRunner

from integration.smtp_server import Collector, start
from itinera.channels import ChannelSettings, SmtpSettings, UnsubscribeSettings, build_channels
from itinera.cli.main import app
from itinera.runtime.dispatcher import Dispatcher

JOURNEY = {"id": "hello", "entry": {"segments": ["gold"]}, "start": "greet",
           "nodes": {"greet": {"do": [{"send_email": {"template": "hi"}}]}}}


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def test_a_dead_letter_is_listed_retried_and_delivered(api: Api, database_url: str) -> None:
    assert api.post("/api/inputs", [
        {"configure": {"segments": [{"id": "gold", "when": {"account.tier": "gold"}}],
                       "templates": [{"id": "hi", "subject": "Hi {{ person.id }}"}]}},
        {"publish": JOURNEY}, {"enable": "hello"},
        {"upsert_person": {"id": "p1", "account": "acme", "email": "p1@acme.test"}},
        {"upsert_account": {"id": "acme", "attributes": {"tier": "gold"}}},
    ]).status_code == 200
    (pending,) = api.get("/api/deliveries", channel="email")["items"]
    assert (pending["status"], pending["target"], pending["attempts"]) == (
        "pending", "p1@acme.test", 0)

    collector = Collector()
    smtp = start(collector)
    port = next(smtp)
    try:
        dispatcher = Dispatcher(api.service.store, build_channels(ChannelSettings(
            smtp=SmtpSettings(host="127.0.0.1", port=port, starttls=False,
                              from_address="cs@vendor.test", timeout=5),
            unsubscribe=UnsubscribeSettings(base_url="https://app.test/u", secret="s"))),
            api.service.clock)
        collector.rcpt_reply = "550 no such user"
        assert dispatcher.dispatch() == 1
        (dead,) = api.get("/api/deliveries", status="dead")["items"]
        assert dead["id"] == pending["id"] and "550" in dead["last_error"]
        detail = api.get(f"/api/deliveries/{dead['id']}")
        assert detail["payload"]["subject"] == "Hi p1"

        headers = {"Authorization": f"Bearer {api.key}"}
        retried = api.client.post(f"/api/deliveries/{dead['id']}/retry", headers=headers)
        assert retried.status_code == 200
        assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
        again = api.client.post(f"/api/deliveries/{dead['id']}/retry", headers=headers)
        assert again.status_code == 409 and "not dead" in again.json()["detail"]
        assert api.client.post("/api/deliveries/999/retry", headers=headers).status_code == 404

        collector.rcpt_reply = None
        assert dispatcher.dispatch() == 1
        assert [r.rcpt_tos for r in collector.received] == [["p1@acme.test"]]
    finally:
        next(smtp, None)
    runner = CliRunner()
    listed = runner.invoke(app, ["deliveries", "list", "--status", "delivered", "--json",
                                 "--database", database_url])
    assert listed.exit_code == 0
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [pending["id"]]
    refused = runner.invoke(app, ["deliveries", "retry", str(pending["id"]),
                                  "--database", database_url])
    assert refused.exit_code == 1 and "no dead delivery" in refused.stderr
    shown = runner.invoke(app, ["deliveries", "show", str(pending["id"]),
                                "--database", database_url])
    assert json.loads(shown.stdout)["delivered_at"] is not None
