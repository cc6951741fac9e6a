"""UI sessions (issue 13): the cookie holds a random session token, never the key or password;
signing out deletes the session, it expires, and no key, password, session token or form token
reaches a log line."""

from __future__ import annotations

import html
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from api_support import Api, basic, open_api
from fastapi.testclient import TestClient
from users_support import PASSWORD, make_user

from itinera.api.auth import COOKIE, CSRF_HEADER, csrf_token
from itinera.api.context import ApiContext
from itinera.storage import keys


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def _signed_in(api: Api, base_url: str = "http://testserver") -> TestClient:
    client = TestClient(api.client.app, base_url=base_url)
    response = client.post("/ui/login", data={"key": api.key}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def test_the_cookie_is_a_session_and_signing_out_ends_it(api: Api) -> None:
    client = _signed_in(api)
    session = client.cookies[COOKIE]
    assert api.key not in session and api.key.split("_", 2)[2] not in session
    with api.service.intake.engine.connect() as connection:
        found = keys.find_session(connection, session, datetime.now(UTC))
    assert found is not None and found.name == "tests"
    assert client.get("/ui/tasks", follow_redirects=False).status_code == 200

    out = client.post("/ui/logout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"
    with api.service.intake.engine.connect() as connection:
        assert keys.find_session(connection, session, datetime.now(UTC)) is None
    # A copy of the cookie kept from before is useless now.
    replay = TestClient(api.client.app, cookies={COOKIE: session})
    assert replay.get("/api/journeys").status_code == 401
    assert replay.get("/ui/tasks", follow_redirects=False).status_code == 303


def test_a_session_expires(api: Api) -> None:
    client = _signed_in(api)
    context = api.client.app.state.itinera  # type: ignore[attr-defined]
    assert isinstance(context, ApiContext)
    assert client.get("/ui/tasks", follow_redirects=False).status_code == 200
    context.now = lambda: datetime.now(UTC) + keys.SESSION_LIFETIME + timedelta(minutes=1)
    response = client.get("/ui/tasks", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/ui/login")


def test_the_cookie_is_secure_over_https(api: Api) -> None:
    plain = TestClient(api.client.app).post("/ui/login", data={"key": api.key},
                                            follow_redirects=False)
    assert "secure" not in plain.headers["set-cookie"].lower()
    secure = TestClient(api.client.app, base_url="https://testserver").post(
        "/ui/login", data={"key": api.key}, follow_redirects=False)
    cookie = secure.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_a_read_key_signs_in_but_cannot_write(api: Api) -> None:
    _, reader = api.new_key("viewer", "read")
    client = TestClient(api.client.app)
    assert client.post("/ui/login", data={"key": reader},
                       follow_redirects=False).status_code == 303
    assert client.get("/ui/journeys").status_code == 200
    denied = client.post("/ui/journeys/onboarding/pause",
                         data={"csrf": csrf_token(client.cookies[COOKIE])})
    assert denied.status_code == 403 and "the scope 'write'" in html.unescape(denied.text)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_no_key_password_or_session_reaches_the_access_log(api: Api) -> None:
    make_user(api, "ana", "editor")
    captured = _Lines()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn.access"),
               logging.getLogger("uvicorn.error")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(captured)
        logger.setLevel(logging.INFO)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(api.client.app, host="127.0.0.1", port=port,
                                           log_config=None, access_log=True))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        with httpx.Client(base_url=base, timeout=60, follow_redirects=True) as client:
            assert client.get("/ui/login").status_code == 200
            signed = client.post("/ui/login", data={"key": api.key})
            assert signed.status_code == 200 and "/ui/journeys" in str(signed.url)
            session = client.cookies[COOKIE]
            assert client.get("/ui/tasks").status_code == 200
            paused = client.post("/ui/journeys/nothing/pause", data={"csrf": csrf_token(session)})
            assert paused.status_code == 404
            bearer = {"Authorization": f"Bearer {api.key}"}
            assert client.get("/api/journeys", headers=bearer).status_code == 200
            track = {"type": "track", "event": "seen", "userId": "ada", "messageId": "m1"}
            assert client.post("/v1/track", json=track, headers=basic(api.key)).status_code == 200
            assert client.get("/api/journeys", headers={"Authorization": "Bearer itk_x_wrong"}
                              ).status_code == 401
            assert client.post("/ui/logout").status_code == 200
            # A user signs in with a password, calls the API with the session as the studio
            # does, and signs out everywhere.
            signed = client.post("/ui/sign-in", data={"name": "ana", "password": PASSWORD})
            assert signed.status_code == 200 and "/ui/journeys" in str(signed.url)
            user_session = client.cookies[COOKIE]
            assert client.get("/api/journeys").status_code == 200
            denied = client.post("/api/tasks/1/complete", json={},
                                 headers={CSRF_HEADER: csrf_token(user_session)})
            assert denied.status_code == 404
            wrong = client.post("/ui/sign-in", data={"name": "ana", "password": "not-" + PASSWORD})
            assert wrong.status_code == 401
            everywhere = client.post("/ui/logout-everywhere",
                                     data={"csrf": csrf_token(user_session)})
            assert everywhere.status_code == 200 and "/ui/login" in str(everywhere.url)
    finally:
        server.should_exit = True
        thread.join(60)
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(captured)
            logger.setLevel(level)
    log = "\n".join(captured.lines)
    assert '"POST /ui/login HTTP/1.1" 303' in log and '"POST /v1/track HTTP/1.1" 200' in log
    assert '"POST /ui/sign-in HTTP/1.1" 303' in log and '"POST /ui/sign-in HTTP/1.1" 401' in log
    assert '"POST /ui/logout-everywhere HTTP/1.1" 303' in log
    for secret in (api.key, api.key.split("_", 2)[2], session, csrf_token(session), PASSWORD,
                   user_session, csrf_token(user_session)):
        assert secret not in log
