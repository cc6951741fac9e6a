"""Users (issue 13): ``itinera users`` makes and changes them, they sign in with a name and a
password, and disabling one or changing their password ends their sessions; brute-force
protection locks a name and an address after repeated failures, in the store (every process
sees it), without telling whether a name exists. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from api_support import Api, open_api
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from users_support import PASSWORD, make_user, signed_in_as

from itinera.api.auth import COOKIE
from itinera.api.context import ApiContext
from itinera.cli.main import app as cli
from itinera.storage import sign_in, users
from itinera.storage.engine import create_engine

runner = CliRunner()


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with open_api(database_url) as api:
        yield api


def _users(api: Api) -> dict[str, users.User]:
    with api.service.intake.engine.connect() as connection:
        return {u.name: u for u in users.users(connection)}


def _cli(database_url: str, *args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(cli, [*args, "--database", database_url], input=input)
    return result.exit_code, result.output


def test_the_cli_makes_and_changes_users(api: Api, database_url: str) -> None:
    code, out = _cli(database_url, "users", "create", "Ana", "--role", "editor",
                     "--password-stdin", input=PASSWORD + "\n")
    assert code == 0 and out.strip() == "created user ana (editor)"
    # At a prompt, asked twice, never echoed.
    code, out = _cli(database_url, "users", "create", "bo", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0 and "created user bo (viewer)" in out and PASSWORD not in out
    code, out = _cli(database_url, "users", "create", "ana", "--password-stdin",
                     input=PASSWORD + "\n")
    assert code == 1 and "already a user 'ana'" in out
    code, out = _cli(database_url, "users", "create", "cy", "--password-stdin", input="short\n")
    assert code == 1 and "at least 10 characters" in out
    code, out = _cli(database_url, "users", "list")
    assert code == 0
    assert re.search(r"^ana\teditor\t\S+\tactive$", out, re.M), out
    assert re.search(r"^bo\tviewer\t\S+\tactive$", out, re.M), out

    browser = signed_in_as(api, "ana")
    assert browser.get("/ui/tasks", follow_redirects=False).status_code == 200
    assert _cli(database_url, "users", "set-role", "ana", "approver") == (0, "ana is now approver\n")
    assert _users(api)["ana"].role == "approver"

    # A new password ends the sessions; the old password no longer signs in.
    code, out = _cli(database_url, "users", "reset-password", "ana", "--password-stdin",
                     input="another long password\n")
    assert code == 0 and "sessions ended" in out
    assert browser.get("/ui/tasks", follow_redirects=False).status_code == 303
    old = TestClient(api.client.app).post("/ui/sign-in", data={"name": "ana", "password": PASSWORD})
    assert old.status_code == 401
    browser = signed_in_as(api, "ana", "another long password")

    # Disabling ends the sessions at once and refuses sign-in, with the usual words.
    assert _cli(database_url, "users", "disable", "ana") == (0, "disabled ana\n")
    assert browser.get("/ui/tasks", follow_redirects=False).status_code == 303
    refused = TestClient(api.client.app).post(
        "/ui/sign-in", data={"name": "ana", "password": "another long password"})
    assert refused.status_code == 401 and "do not match an active user" in refused.text
    code, out = _cli(database_url, "users", "list")
    assert re.search(r"^ana\tapprover\t\S+\tdisabled \S+$", out, re.M), out
    assert _cli(database_url, "users", "enable", "ana") == (0, "enabled ana\n")
    signed_in_as(api, "ana", "another long password")
    assert _cli(database_url, "users", "disable", "nobody")[0] == 1


def test_signing_in_with_a_password(api: Api) -> None:
    make_user(api, "ana", "viewer")
    client = TestClient(api.client.app)
    page = client.get("/ui/login")
    assert 'action="/ui/sign-in"' in page.text and 'name="password"' in page.text
    signed = client.post("/ui/sign-in", data={"name": " Ana ", "password": PASSWORD,
                                              "next": "/ui/tasks"}, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/tasks"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and PASSWORD not in cookie
    session = client.cookies[COOKIE]
    with api.service.intake.engine.connect() as connection:
        found = users.find_signed_in(connection, session, datetime.now(UTC))
    assert isinstance(found, users.User) and found.name == "ana"
    assert "ana" in client.get("/ui/journeys").text
    # The password is stored only as its argon2 hash.
    with api.service.intake.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT password_hash FROM users").scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_sign_out_everywhere_ends_every_session(api: Api) -> None:
    make_user(api, "ana", "editor")
    make_user(api, "bo", "editor")
    laptop, phone, other = signed_in_as(api, "ana"), signed_in_as(api, "ana"), signed_in_as(api, "bo")
    assert phone.get("/ui/tasks", follow_redirects=False).status_code == 200
    # Without the form token it is refused (another site cannot sign people out).
    assert laptop.post("/ui/logout-everywhere", data={"csrf": "x"}).status_code == 403
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', laptop.get("/ui/tasks").text)
    assert token is not None
    out = laptop.post("/ui/logout-everywhere", data={"csrf": token.group(1)},
                      follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"
    assert laptop.get("/ui/tasks", follow_redirects=False).status_code == 303
    assert phone.get("/ui/tasks", follow_redirects=False).status_code == 303
    assert phone.get("/api/journeys").status_code == 401
    assert other.get("/ui/tasks", follow_redirects=False).status_code == 200  # not bo's


def _attempt(client: TestClient, name: str, password: str) -> tuple[int, str, str | None]:
    response = client.post("/ui/sign-in", data={"name": name, "password": password},
                           follow_redirects=False)
    found = re.search(r'role="alert">([^<]*)<', response.text)
    return response.status_code, found.group(1) if found else "", response.headers.get(
        "retry-after")


def test_brute_force_locks_a_name_with_back_off_whether_or_not_it_exists(
        api: Api, database_url: str) -> None:
    make_user(api, "ana", "editor")
    context = api.client.app.state.itinera  # type: ignore[attr-defined]
    assert isinstance(context, ApiContext)
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    context.now = lambda: now
    client = TestClient(api.client.app)
    answers: dict[str, list[tuple[int, str, str | None]]] = {}
    for name in ("ana", "ghost"):  # a user, and a name nobody has
        answers[name] = [_attempt(client, name, "wrong password!")
                         for _ in range(sign_in.FREE_BY_NAME + 1)]
        answers[name].append(_attempt(client, name, PASSWORD))  # right or not: locked
    assert answers["ana"] == answers["ghost"]  # the same answers: names are not told apart
    *failed, locked = answers["ana"]
    assert failed == [(401, "That name and password do not match an active user.", None)] * 6
    assert locked == (429, "Too many failed sign-ins: try again in 2 seconds.", "2")

    # The lock is in the store, where every process of a deployment reads it.
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            assert sign_in.locked_for(connection, "ANA", None, now) == timedelta(seconds=2)
            assert sign_in.locked_for(connection, "ana", None, now + timedelta(seconds=2)) is None
    finally:
        engine.dispose()

    # Once it passes, the right password signs in and the count starts over; each failure past
    # the free ones doubles the wait.
    now += timedelta(seconds=3)
    assert _attempt(client, "ana", PASSWORD)[0] == 303
    for _ in range(sign_in.FREE_BY_NAME + 2):
        now += timedelta(seconds=60)
        code, _, _ = _attempt(client, "ana", "wrong password!")
    assert code == 401
    assert _attempt(client, "ana", PASSWORD)[2] == "4"  # the second lock: twice the first


def test_brute_force_locks_an_address_guessing_many_names(api: Api) -> None:
    make_user(api, "ana", "editor")
    context = api.client.app.state.itinera  # type: ignore[attr-defined]
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    context.now = lambda: now
    with api.service.intake.engine.begin() as connection:
        for i in range(sign_in.FREE_BY_ADDRESS):  # as many failures as are free, each a name
            sign_in.record_failure(connection, f"guess{i}", "testclient", now)
    client = TestClient(api.client.app)  # its address is "testclient"
    assert _attempt(client, "guess-last", "wrong password!")[0] == 401
    assert _attempt(client, "ana", PASSWORD)[0] == 429  # the address is locked now
    # Keys are guessed from an address too.
    assert client.post("/ui/login", data={"key": "itk_0_x"}).status_code == 429


def test_forgotten_failures_leave_no_rows(api: Api) -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    with api.service.intake.engine.begin() as connection:
        for i in range(3):
            sign_in.record_failure(connection, f"guess{i}", "10.0.0.1", now)
        later = now + sign_in.FORGET_AFTER + timedelta(minutes=1)
        sign_in.record_failure(connection, "ana", "10.0.0.2", later)
        ids = set(connection.exec_driver_sql("SELECT id FROM sign_in_failures").scalars())
    assert ids == {"name:ana", "address:10.0.0.2"}


def test_parallel_guesses_get_no_more_than_the_free_attempts(api: Api) -> None:
    """Each attempt takes its count before its password is checked: 20 guesses at once for
    one name get the free ones and the one that sets the lock checked (401); the rest are
    refused (429) — before, all 20 were checked."""
    from concurrent.futures import ThreadPoolExecutor

    make_user(api, "victim", "editor")
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: TestClient(api.client.app).post(
            "/ui/sign-in", data={"name": "victim", "password": "wrong password!"},
            follow_redirects=False).status_code, range(20)))
    checked = sign_in.FREE_BY_NAME + 1
    assert sorted(codes) == [401] * checked + [429] * (20 - checked)
