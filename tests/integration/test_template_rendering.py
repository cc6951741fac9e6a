"""Templates as the live service renders them: missing and null values write nothing (never
``None``) in every rendered text — email subjects and bodies, webhook payloads, task titles."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from itinera.runtime import ManualClock, Service

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _service(database_url: str, template: dict[str, Any], actions: list[dict[str, Any]]) -> Service:
    service = Service(database_url, ManualClock(T0))
    service.submit([
        {"configure": {"templates": [{"id": "t", "approved": True, **template}]}},
        {"publish": {"id": "j", "entry": {"event": {"type": "ping"}, "reenroll": "always"},
                     "start": "act", "nodes": {"act": {"do": actions}}}},
        {"enable": "j"},
        {"upsert_account": {"id": "acme", "attributes": {"name": "Acme", "tier": None}}},
        {"upsert_person": {"id": "p1", "account": "acme", "email": "p1@acme.test",
                           "attributes": {"first_name": "Leo", "nickname": None}}}])
    service.work()
    return service


def _payloads(service: Service, channel: str) -> list[dict[str, Any]]:
    with service.store.transaction():
        return [e.payload for e in service.store.effects() if e.channel == channel]


def test_null_and_missing_values_render_as_nothing_in_emails_and_webhooks(database_url: str) -> None:
    service = _service(database_url, {
        "subject": "{{ account.name }} {{ account.tier }}news",
        "text": "Dear {{ person.first_name }}{{ person.nickname }}, as {{ buying_group.role }} ...",
        "html": "{% if person %}<p>as {{ buying_group.role }}, tier {{ account.tier }}</p>{% endif %}"},
        [{"send_email": {"template": "t", "to": "all"}},
         {"webhook": {"url": "https://hooks.test/x", "body": {
             "tier": "{{ account.tier }}", "line": "{% if true %}{{ account.tier }}{% endif %}|",
             "who": "{{ account.owner }}"}}}])
    try:
        service.submit([{"event": {"id": "e1", "type": "ping", "account": "acme", "person": "p1"}}])
        service.work()
        (email,) = _payloads(service, "email")
        (hook,) = _payloads(service, "webhook")
    finally:
        service.close()
    assert (email["subject"], email["text"]) == ("Acme news", "Dear Leo, as  ...")
    assert email["html"] == "<p>as , tier </p>"
    assert hook["body"] == {"tier": "", "line": "|", "who": ""}
