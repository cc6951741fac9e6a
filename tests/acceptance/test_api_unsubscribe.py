"""The unsubscribe link of an email works end to end: the token from the link, a confirmation
page on GET (scanners change nothing), the person unsubscribed on POST, no email after that."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from itinera.api import create_app
from itinera.channels import UnsubscribeSettings, unsubscribe_url
from itinera.runtime import Service

SECRET = "link-secret"


def test_the_link_unsubscribes_its_person(database_url: str) -> None:
    service = Service(database_url)
    try:
        client = TestClient(create_app(service, unsubscribe_secret=SECRET))
        service.submit([{"upsert_person": {"id": "p1", "email": "p1@acme.test"}}])
        service.work()
        link = unsubscribe_url(UnsubscribeSettings(base_url="https://x.test/unsubscribe",
                                                   secret=SECRET), "p1")
        token = parse_qs(urlsplit(link).query)["token"][0]

        page = client.get("/unsubscribe", params={"token": token})
        assert page.status_code == 200 and "<form method=\"post\"" in page.text
        service.work()
        with service.store.transaction():
            person = service.store.person("p1")
            assert person is not None and not person.unsubscribed  # GET changes nothing

        done = client.post("/unsubscribe", params={"token": token})
        assert done.status_code == 200 and "unsubscribed" in done.text
        service.work()
        with service.store.transaction():
            person = service.store.person("p1")
            assert person is not None and person.unsubscribed

        forged = client.post("/unsubscribe", params={"token": token[:-2] + "xx"})
        assert forged.status_code == 404
        assert forged.headers["content-type"].startswith("application/problem+json")
    finally:
        service.close()


def test_without_a_secret_no_link_is_valid(database_url: str) -> None:
    service = Service(database_url)
    try:
        client = TestClient(create_app(service))
        assert client.post("/unsubscribe", params={"token": "a.b"}).status_code == 404
    finally:
        service.close()
