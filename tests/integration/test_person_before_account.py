"""A person linked to an account id before the account exists is one of its people from the
moment the account is created — whether both arrive in one batch or in two."""

from __future__ import annotations

from datetime import UTC, datetime

from itinera.runtime import ManualClock, Service

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def test_people_linked_before_their_account_exists(database_url: str) -> None:
    service = Service(database_url, ManualClock(T0), sandbox=True)
    try:
        service.submit([
            {"configure": {"segments": [{"id": "all", "when": {"account.tier": "gold"}}],
                           "templates": [{"id": "hi", "subject": "Hi"}]}},
            {"publish": {"id": "j", "entry": {"segments": ["all"]}, "start": "hi",
                         "nodes": {"hi": {"do": [{"send_email": {"template": "hi"}}]}}}},
            {"enable": "j"},
            {"upsert_person": {"id": "p1", "account": "acme", "email": "p1@acme.test"}},
        ])
        service.work()  # the person is stored in one batch ...
        service.submit([{"upsert_account": {"id": "acme", "attributes": {"tier": "gold"}}}])
        service.work()  # ... the account arrives in the next, and enrolls with its person
        with service.store.transaction():
            effects = service.store.effects()
            people = service.store.people_of("acme")
    finally:
        service.close()
    assert [p.id for p in people] == ["p1"]
    assert [(e.channel, e.person) for e in effects] == [("email", "p1")]
