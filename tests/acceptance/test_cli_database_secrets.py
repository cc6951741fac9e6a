"""A database URL's password never reaches a message: `itinera serve` that cannot reach its
database, and a malformed URL, name the URL with its password masked."""

from __future__ import annotations

import subprocess

import pytest
from test_api_serve import ITINERA

from itinera.storage.engine import shown_url

SECRET = "s3cret-pw"


@pytest.mark.parametrize(("command", "url"), [
    (["serve", "--port", "0"], f"postgresql+psycopg://u:{SECRET}@127.0.0.1:1/db"),
    (["journeys", "list"], f"postgresql+psycopg://u:{SECRET}@127.0.0.1:notaport/db"),
])
def test_a_database_url_is_shown_without_its_password(command: list[str], url: str) -> None:
    done = subprocess.run([ITINERA, *command, "--database", url], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    said = done.stdout + done.stderr
    assert "u:***@127.0.0.1" in said, said
    assert SECRET not in said, said


def test_shown_url_masks_what_it_cannot_parse_too() -> None:
    assert shown_url(f"postgresql+psycopg://u:{SECRET}@h/db") == "postgresql+psycopg://u:***@h/db"
    assert shown_url("sqlite:///itinera.db") == "sqlite:///itinera.db"
    assert SECRET not in shown_url(f"postgresql://u:{SECRET}@h:port:x/db")
