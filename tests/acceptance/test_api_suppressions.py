"""The suppression list over the API (list, show, lift — audited), Postmark's bounce webhook,
and tracked hits that are bots' (kept apart, never events), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from api_support import open_api

from itinera.channels import tracking
from itinera.runtime.clock import ManualClock
from itinera.storage import schema as t
from itinera.storage import tracking as hits

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_bounces_suppress_and_a_lift_is_audited(database_url: str) -> None:
    with open_api(database_url) as api:
        auth = {"Authorization": f"Bearer {api.key}"}
        hard = api.client.post("/api/webhooks/postmark", headers=auth, json={
            "RecordType": "Bounce", "Type": "HardBounce", "Email": "Gone@Acme.test",
            "Description": "Unknown user"})
        soft = api.client.post("/api/webhooks/postmark", headers=auth, json={
            "RecordType": "Bounce", "Type": "SoftBounce", "Email": "full@acme.test"})
        spam = api.client.post("/api/webhooks/postmark", headers=auth, json={
            "RecordType": "SpamComplaint", "Type": "SpamComplaint", "Email": "angry@acme.test"})
        assert hard.json() == {"recorded": True, "kind": "hard", "suppressed": True}
        assert soft.json()["suppressed"] is False and spam.json()["suppressed"] is True
        bad = api.client.post("/api/webhooks/postmark", headers=auth,
                              json={"RecordType": "Bounce", "Type": "HardBounce"})
        assert bad.status_code == 422

        listed = api.get("/api/suppressions")
        assert [(s["address"], s["reason"], s["source"]) for s in listed["items"]] == [
            ("angry@acme.test", "complaint", "postmark"), ("gone@acme.test", "hard_bounce",
                                                            "postmark")]
        assert listed["items"][1]["bounces"] == {"hard": 1}
        assert api.get("/api/suppressions", q="gone")["items"][0]["address"] == "gone@acme.test"
        assert api.client.get("/api/suppressions").status_code == 401  # a key is needed

        _, reader = api.new_key("reader", "read")
        refused = api.client.delete("/api/suppressions/gone@acme.test",
                                    headers={"Authorization": f"Bearer {reader}"})
        assert refused.status_code == 403
        lifted = api.client.delete("/api/suppressions/GONE@acme.test", headers=auth)
        assert lifted.status_code == 200 and lifted.json()["lifted"]["reason"] == "hard_bounce"
        assert api.client.delete("/api/suppressions/gone@acme.test",
                                 headers=auth).status_code == 404
        with api.service.intake.engine.connect() as connection:
            entry = connection.execute(sa.select(t.audit).where(
                t.audit.c.kind == "suppression_lift")).one()
        assert (entry.object_kind, entry.object_id) == ("suppression", "gone@acme.test")
        assert entry.before["reason"] == "hard_bounce" and entry.actor_kind == "key"
        assert [s["address"] for s in api.get("/api/suppressions")["items"]] == [
            "angry@acme.test"]


def test_a_scanners_click_redirects_but_is_no_event(database_url: str) -> None:
    clock = ManualClock(START)
    with open_api(database_url, clock) as api:
        api.client.app.state.unsubscribe_secret = "s"  # type: ignore[attr-defined]
        api.service.submit([{"upsert_person": {"id": "p1", "email": "p1@acme.test"}}])
        api.service.work()
        with api.service.intake.engine.begin() as connection:
            connection.execute(t.effects.insert().values(
                id=5, key="k5", channel="email", status="delivered", journey="j", node="n",
                person="p1", at=START, payload={"to": "p1@acme.test", "template": "w"},
                attempts=1, delivered_at=START))
        link = tracking.click_url("http://testserver", "s", 5, 0, "https://vendor.test/")
        path = link.removeprefix("http://testserver")
        clock.advance(timedelta(milliseconds=300))
        early = api.client.get(path, headers={"User-Agent": "Mozilla/5.0"},
                               follow_redirects=False)
        clock.advance(timedelta(minutes=5))
        scanner = api.client.get(path, headers={"User-Agent": "Barracuda Sentinel"},
                                 follow_redirects=False)
        assert early.status_code == scanner.status_code == 302
        assert early.headers["location"] == "https://vendor.test/"
        api.service.work()
        with api.service.intake.engine.connect() as connection:
            kept = connection.execute(sa.select(t.email_hits.c.bot, t.email_hits.c.bot_reason)
                                      .order_by(t.email_hits.c.at)).all()
            events = connection.execute(sa.select(sa.func.count()).select_from(t.events)
                                        .where(t.events.c.type == "email.clicked")).scalar()
            rates = hits.node_rates(connection, "j")
        assert [tuple(row) for row in kept] == [(True, "too_soon"), (True, "user_agent")]
        assert events == 0
        assert rates["n"].as_json() == {"delivered": 1, "clicked": 0, "opened": 0,
                                        "click_rate": 0.0, "open_rate": 0.0, "bot_hits": 2}
        assert api.client.get(path[:-2] + "xx", follow_redirects=False).status_code == 404
