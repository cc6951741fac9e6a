"""The studio's checks over the REST API, on SQLite and PostgreSQL: a segment's condition
previewed while it is edited (count and sample, problems with places), and a template rendered
for a person and sent as a test email to a real SMTP server on loopback (aiosmtpd): marked as a
test, recorded, rate-limited, never an enrollment or a delivery."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from api_support import Api, open_api
from fastapi.testclient import TestClient

from integration.smtp_server import Collector, start
from itinera.api import create_app
from itinera.channels.settings import SmtpSettings
from itinera.runtime import ManualClock
from itinera.storage import schema as t

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
WORKSPACE = {
    "csms": [{"id": "ann", "name": "Ann Lee", "email": "ann@vendor.test"}],
    "segments": [{"id": "big", "when": {"account.employees": {"gte": 1000}}}],
    "templates": [{"id": "welcome", "subject": "Welcome, {{ account.name }}",
                   "text": "Hi {{ person.first_name }}, {{ csm.name }} here.",
                   "html": "<p>Hi {{ person.first_name }}</p>", "preheader": "For {{ account.name }}"}],
}
# 30 accounts: every third is large, every fifth in Berlin; acc-00 has no name.
ACCOUNTS = [{"id": f"acc-{i:02}", "csm": "ann",
             "attributes": ({"name": f"Account {i:02}"} if i else {}) | {
                 "employees": 5000 if i % 3 == 0 else 50, "city": "Berlin" if i % 5 == 0 else "Paris"}}
            for i in range(30)]
PEOPLE = [{"id": "p1", "account": "acc-03", "email": "cto@acc.test",
           "attributes": {"first_name": "Ada"}}]


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url, ManualClock(NOW)) as api:
        response = api.post("/api/inputs", [{"configure": WORKSPACE},
                                            {"load_world": {"accounts": ACCOUNTS, "people": PEOPLE}}])
        assert response.status_code == 200, response.text
        yield api


def _preview(api: Api, body: object) -> dict[str, object]:
    response = api.post("/api/segments/preview", body, wait=False)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_a_condition_previews_its_count_and_a_sample_by_id(api: Api) -> None:
    large = _preview(api, {"condition": {"account.employees": {"gte": 1000}}, "limit": 3})
    assert large["count"] == 10  # acc-00, 03, ... 27
    assert large["sample"] == [{"id": "acc-00", "name": None}, {"id": "acc-03", "name": "Account 03"},
                               {"id": "acc-06", "name": "Account 06"}]
    assert large["at"] == "2026-03-02T09:00:00Z"  # the service's clock
    # Editing the condition changes the count: large and in Berlin (0, 15).
    both = _preview(api, {"condition": {"all": [{"account.employees": {"gte": 1000}},
                                                {"account.city": "Berlin"}]}})
    assert both["count"] == 2 and [a["id"] for a in both["sample"]] == ["acc-00", "acc-15"]  # type: ignore[attr-defined]
    # A stored segment may be named; nothing matches: an empty sample.
    assert _preview(api, {"condition": {"in_segment": "big"}})["count"] == 10
    assert _preview(api, {"condition": {"account.city": "Rome"}}) | {"at": None} == \
        {"count": 0, "sample": [], "at": None}
    assert _preview(api, {"condition": {"account.city": "Paris"}, "limit": 0})["sample"] == []


def test_a_bad_condition_names_its_places_and_nothing_is_counted(api: Api) -> None:
    response = api.post("/api/segments/preview", {"condition": {
        "all": [{"account.employees": {"gte": "many", "between": 3}}, {"in_segment": "nope"}]}},
        wait=False)
    assert response.status_code == 422, response.text
    places = {e["place"] for e in response.json()["errors"]}
    assert any(p.startswith("condition.all[0].account.employees") for p in places), places
    assert any(p.startswith("condition.all[1]") for p in places), places
    not_a_mapping = api.post("/api/segments/preview", {"condition": ["x"]}, wait=False)
    assert not_a_mapping.status_code == 422
    assert not_a_mapping.json()["errors"][0]["place"] == "condition"
    too_many = api.post("/api/segments/preview", {"condition": {}, "limit": 51}, wait=False)
    assert too_many.status_code == 422


def test_previews_need_the_edit_scope(api: Api) -> None:
    _, reader = api.new_key("reader", "read")
    response = api.client.post("/api/segments/preview", json={"condition": {}},
                               headers={"Authorization": f"Bearer {reader}"})
    assert response.status_code == 403


def test_a_template_previews_for_a_person_stored_or_as_edited(api: Api) -> None:
    stored = api.post("/api/templates/preview", {"template": "welcome", "person": "p1"}, wait=False)
    assert stored.status_code == 200, stored.text
    assert stored.json() == {"subject": "Welcome, Account 03", "preheader": "For Account 03",
                             "text": "Hi Ada, Ann Lee here.", "html": "<p>Hi Ada</p>", "error": None}
    edited = api.post("/api/templates/preview", {"person": "p1", "content": {
        "subject": "{{ account.name | upper }}", "text": "{{ person.first_name }}"}}, wait=False)
    assert edited.json()["subject"] == "ACCOUNT 03" and edited.json()["text"] == "Ada"
    broken = api.post("/api/templates/preview", {"person": "p1", "content": {
        "subject": "{{ account.name", "text": ""}}, wait=False)
    assert broken.status_code == 200 and broken.json()["error"]
    missing = api.post("/api/templates/preview", {"person": "zed", "template": "nope"}, wait=False)
    assert missing.status_code == 422
    assert {e["place"] for e in missing.json()["errors"]} == {"person", "template"}


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, SmtpSettings]]:
    collector = Collector()
    for port in start(collector):
        yield collector, SmtpSettings(host="127.0.0.1", port=port, starttls=False,
                                      from_address="studio@vendor.test", timeout=5)


def _with_smtp(api: Api, settings: SmtpSettings | None) -> Api:
    return Api(api.service, TestClient(create_app(api.service, smtp=settings)), api.key)


def test_a_test_email_arrives_marked_as_a_test_and_is_recorded(
        api: Api, smtp: tuple[Collector, SmtpSettings]) -> None:
    collector, settings = smtp
    mailer = _with_smtp(api, settings)
    response = mailer.post("/api/templates/test-email", {"template": "welcome", "person": "p1",
                                                          "to": "me@vendor.test"}, wait=False)
    assert response.status_code == 200, response.text
    sent = response.json()
    assert sent["status"] == "sent" and sent["error"] is None
    assert sent["subject"] == "[TEST] Welcome, Account 03"
    (received,) = collector.received
    assert received.rcpt_tos == ["me@vendor.test"]
    message = received.message
    assert message["Subject"] == "[TEST] Welcome, Account 03"
    assert message["X-Itinera-Test"] == "1"
    assert message["X-Itinera-Key"] == f"test-email-{sent['id']}"
    assert message["List-Unsubscribe"] is None
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "not a journey delivery" in text and "Hi Ada, Ann Lee here." in text
    with api.service.intake.engine.connect() as connection:
        rows = connection.execute(sa.select(t.test_emails)).all()
        assert [(r.to, r.template, r.person, r.status, r.actor_label) for r in rows] == \
            [("me@vendor.test", "welcome", "p1", "sent", "key:tests")]
        # Not a delivery: no effect, no enrollment.
        assert connection.execute(sa.select(sa.func.count()).select_from(t.effects)).scalar() == 0
        assert connection.execute(sa.select(sa.func.count()).select_from(t.enrollments)).scalar() == 0
    # A template being edited (not stored) is sent too.
    edited = mailer.post("/api/templates/test-email", {"person": "p1", "to": "me@vendor.test",
                                                        "content": {"subject": "Draft {{ account.name }}"}},
                         wait=False)
    assert edited.status_code == 200 and collector.received[-1].message["Subject"] == \
        "[TEST] Draft Account 03"


def test_test_emails_are_refused_without_smtp_over_the_rate_and_to_a_bad_address(
        api: Api, smtp: tuple[Collector, SmtpSettings]) -> None:
    body = {"template": "welcome", "person": "p1", "to": "me@vendor.test"}
    unconfigured = api.post("/api/templates/test-email", body, wait=False)
    assert unconfigured.status_code == 409 and "SMTP" in unconfigured.json()["detail"]
    collector, settings = smtp
    mailer = _with_smtp(api, settings)
    bad = mailer.post("/api/templates/test-email", body | {"to": "a@b.test, c@d.test"}, wait=False)
    assert bad.status_code == 422
    header = mailer.post("/api/templates/test-email", body | {"to": "a@b.test\r\nBcc: x@y.test"},
                         wait=False)
    assert header.status_code == 422
    for _ in range(5):
        assert mailer.post("/api/templates/test-email", body, wait=False).status_code == 200
    over = mailer.post("/api/templates/test-email", body, wait=False)
    assert over.status_code == 429 and "5 test emails a minute" in over.json()["detail"]
    assert len(collector.received) == 5
    # Another key has its own allowance.
    _, other = api.new_key("other", "write")
    response = mailer.client.post("/api/templates/test-email", json=body,
                                  headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 200
    # A minute later (the records' instants are the wall clock's) the first key may send again.
    with api.service.intake.engine.begin() as connection:
        connection.execute(sa.update(t.test_emails).values(at=datetime.now(UTC) - timedelta(minutes=2)))
    assert mailer.post("/api/templates/test-email", body, wait=False).status_code == 200


def test_a_relay_that_refuses_is_a_recorded_failure(
        api: Api, smtp: tuple[Collector, SmtpSettings]) -> None:
    collector, settings = smtp
    collector.rcpt_reply = "550 no such user"
    response = _with_smtp(api, settings).post(
        "/api/templates/test-email", {"template": "welcome", "person": "p1", "to": "x@vendor.test"},
        wait=False)
    assert response.status_code == 200
    assert response.json()["status"] == "failed" and "550" in response.json()["error"]
    with api.service.intake.engine.connect() as connection:
        assert connection.execute(sa.select(t.test_emails.c.status)).scalar() == "failed"
