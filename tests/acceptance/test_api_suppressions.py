"""The suppression list over the API (list, show, lift — audited), Postmark's bounce webhook,
and tracked hits that are bots' (kept apart, never events), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from api_support import open_api
from users_support import make_user, signed_in_as

from itinera.api.auth import COOKIE, csrf_token
from itinera.channels import tracking
from itinera.runtime import engagement
from itinera.runtime.clock import ManualClock
from itinera.storage import schema as t
from itinera.storage import tracking as hits

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_bounces_suppress_and_a_lift_is_audited(database_url: str) -> None:
    with open_api(database_url) as api:
        # The website's public ingest key cannot suppress anyone; a bounces key can.
        _, site = api.new_key("website", "ingest")
        _, postmark = api.new_key("postmark", "bounces")
        spoofed = api.client.post("/api/webhooks/postmark", json={
            "RecordType": "SpamComplaint", "Type": "SpamComplaint", "Email": "ceo@victim.test"},
            headers={"Authorization": f"Bearer {site}"})
        assert spoofed.status_code == 403 and "bounces" in spoofed.json()["detail"]
        assert api.client.get("/api/suppressions",
                              headers={"Authorization": f"Bearer {postmark}"}).status_code == 403
        auth = {"Authorization": f"Bearer {postmark}"}
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
        admin = {"Authorization": f"Bearer {api.key}"}
        assert api.client.delete("/api/suppressions/gone@acme.test",
                                 headers=auth).status_code == 403  # a bounces key only suppresses
        lifted = api.client.delete("/api/suppressions/GONE@acme.test", headers=admin)
        assert lifted.status_code == 200 and lifted.json()["lifted"]["reason"] == "hard_bounce"
        assert api.client.delete("/api/suppressions/gone@acme.test",
                                 headers=admin).status_code == 404
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


def test_the_ui_lists_and_lifts_suppressions_and_shows_email_rates(database_url: str) -> None:
    with open_api(database_url) as api:
        auth = {"Authorization": f"Bearer {api.key}"}
        api.client.post("/api/webhooks/postmark", headers=auth, json={
            "RecordType": "Bounce", "Type": "HardBounce", "Email": "gone@acme.test"})
        make_user(api, "viewer", "viewer")
        make_user(api, "ops", "admin")
        viewer = signed_in_as(api, "viewer")
        page = viewer.get("/ui/suppressions")
        assert page.status_code == 200 and "gone@acme.test" in page.text
        assert "/ui/suppressions/lift" not in page.text  # a viewer sees no Lift button
        ops = signed_in_as(api, "ops")
        token = csrf_token(ops.cookies[COOKIE])
        refused = viewer.post("/ui/suppressions/lift", data={
            "csrf": csrf_token(viewer.cookies[COOKIE]), "address": "gone@acme.test"},
            follow_redirects=False)
        assert refused.status_code == 403
        lifted = ops.post("/ui/suppressions/lift", data={"csrf": token,
                                                          "address": "gone@acme.test"},
                          follow_redirects=False)
        assert lifted.status_code == 303
        assert "gone@acme.test" not in ops.get("/ui/suppressions").text.split("</h1>")[1] \
            .split("<tbody>")[1]

        api.setup_onboarding()
        with api.service.intake.engine.begin() as connection:
            connection.execute(t.effects.insert().values(
                id=9, key="k9", channel="email", status="delivered", journey="onboarding",
                node="kickoff", person="p1", at=START, payload={"to": "p1@acme.test"},
                attempts=1, delivered_at=START))
            hits.record_hit(connection, {
                "id": "click:9:0:1", "effect": 9, "kind": "click", "journey": "onboarding",
                "node": "kickoff", "template": "w", "person": "p1", "link": 0,
                "url": "https://vendor.test/", "at": START + timedelta(minutes=1), "bot": False,
                "bot_reason": None})
        report = api.get("/api/journeys/onboarding/report")
        assert report["emails"] == [{"node": "kickoff", "delivered": 1, "clicked": 1,
                                     "opened": 0, "click_rate": 1.0, "open_rate": 0.0,
                                     "bot_hits": 0}]
        journey = ops.get("/ui/journeys/onboarding")
        assert journey.status_code == 200
        assert 'data-click-rate="1.0"' in journey.text and "100.0% clicked" in journey.text


def test_a_click_the_database_cannot_record_still_redirects(database_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*_: object) -> None:
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))

    with open_api(database_url) as api:
        api.client.app.state.unsubscribe_secret = "s"  # type: ignore[attr-defined]
        monkeypatch.setattr(engagement, "_record", failing)
        path = tracking.click_url("", "s", 5, 0, "https://vendor.test/")
        answer = api.client.get(path, follow_redirects=False)
        assert answer.status_code == 302 and answer.headers["location"] == "https://vendor.test/"
        raced = sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))
        monkeypatch.setattr(engagement, "_record", lambda *_: (_ for _ in ()).throw(raced))
        assert engagement.record(api.service, tracking.Tracked("open", 5), None) is None
