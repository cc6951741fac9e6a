"""Templates as the live service renders them: missing and null values write nothing (never
``None``) in every rendered text — email subjects and bodies, webhook payloads, task titles."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from itinera.errors import DefinitionError
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


# Hostile only with the account's data (validation cannot know): each is that action's
# recorded failure, and the worker goes on.
HOSTILE = ["{% for i in range(account.n) %}{% for j in range(account.n) %}{% endfor %}{% endfor %}",
           "{{ 'x'|center(account.w) }}", "{{ account.f % 1 }}", "{{ account.g.format(1) }}",
           "{{ account.name * account.w }}", "{{ 'x'.center(account.w) }}"]


def test_a_hostile_template_fails_that_action_and_the_worker_goes_on(database_url: str) -> None:
    service = _service(database_url, {"subject": "Hi", "text": "".join(HOSTILE[:1])}, [
        {"send_email": {"template": "t", "to": "all"}},
        *[{"webhook": {"url": "https://hooks.test/x", "body": {"v": text}}} for text in HOSTILE],
        {"create_task": {"title": "Call {{ account.name }}{{ 'x'|indent(account.w) }}"}},
        {"set": {"account.done": "yes"}}])
    try:
        service.submit([
            {"upsert_account": {"id": "acme", "attributes": {
                "name": "Acme", "n": 100_000, "w": 999_999_999, "f": "%0999999999d",
                "g": "{:>999999999}"}}},
            {"event": {"id": "e1", "type": "ping", "account": "acme", "person": "p1"}},
            {"upsert_account": {"id": "next", "attributes": {"name": "Next"}}}])
        assert service.work() == 3
        with service.store.transaction():
            effects = service.store.effects()
            acme, after = service.store.account("acme"), service.store.account("next")
            (enrollment,) = service.store.enrollments()
            history = [str(entry) for entry in service.store.history(enrollment.id)]
    finally:
        service.close()
    (email,) = [e for e in effects if e.channel == "email"]
    assert (email.status, email.payload["reason"]) == ("skipped", "template_error")
    assert "more than 200000 steps of work" in email.payload["error"]
    assert [e for e in effects if e.channel in ("webhook", "task")] == []
    for refused in ["steps of work", "center would make", "% format", "format spec",
                    "repeating text", "indent would make"]:
        assert any(refused in entry for entry in history), refused
    assert acme is not None and acme.attributes["done"] == "yes"  # the next action ran
    assert after is not None and after.attributes == {"name": "Next"}  # and the next input


def test_publish_and_configure_refuse_what_is_certain_with_its_place(database_url: str) -> None:
    service = Service(database_url, ManualClock(T0))
    try:
        with pytest.raises(DefinitionError) as refused:
            service.submit([{"publish": {"id": "j", "entry": {"event": {"type": "ping"}},
                                         "start": "act", "nodes": {"act": {"do": [{"webhook": {
                                             "url": "https://hooks.test/x", "body": {"v": (
                "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                "{% endfor %}")}}}]}}}}])
        assert ("inputs[0].publish.nodes.act.do[0].webhook.body.v: loops would run 10000000000 "
                "times") in str(refused.value)
        with pytest.raises(DefinitionError) as refused:
            service.submit([{"configure": {"templates": [
                {"id": "t", "subject": "Hi", "text": "Hello\n{{ '%0999999999d' % 1 }}"}]}}])
        assert ("inputs[0].configure.templates[0].text: % format '%0999999999d': width 999999999 "
                "is over the template limit of 100000 (line 2)") in str(refused.value)
    finally:
        service.close()
