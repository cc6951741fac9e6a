"""``itinera users``: the people who sign in to a live service, with their roles.

``create NAME --role ROLE`` asks for the password twice at a prompt (never echoed), or reads it
from standard input with ``--password-stdin`` (for scripts: a password never goes in an argument,
where shell history and ``ps`` would show it). ``list`` shows every user's name, role, created
and state; ``set-role``, ``disable`` (their sessions end at once), ``enable`` and
``reset-password`` (their sessions end too) change one. Roles: viewer, editor, approver, admin
(docs/security.md). Each change is in the audit log. The database is ``--database URL``, else
``$ITINERA_DATABASE``, else ``sqlite:///itinera.db``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer

from itinera.cli.database import DEFAULT_DATABASE, Database, in_transaction, stderr
from itinera.cli.operator import cli_actor
from itinera.storage import team, users

__all__ = ["register"]


class Role(StrEnum):
    viewer = "viewer"
    editor = "editor"
    approver = "approver"
    admin = "admin"


users_app = typer.Typer(name="users", no_args_is_help=True, add_completion=False,
                        help="Create, list, disable users and set their roles and passwords.")
Name = Annotated[str, typer.Argument(help="The user's name (what they type to sign in).")]
PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from standard input (its first line), not a "
                             "prompt.")]
_ROLE_HELP = ("viewer (reads everything), editor (drafts journeys, segments, templates; runs "
              "tests), approver (approves content, publishes and runs journeys), admin (users, "
              "keys, workspace settings, everything).")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline(users.PASSWORD_MAX + 2)
        return line.rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _fail(message: str) -> typer.Exit:
    stderr().print(message, markup=False)
    return typer.Exit(1)


def _changed(found: users.User | None, name: str) -> users.User:
    if found is None:
        raise _fail(f"no user {name!r}")
    return found


@users_app.command("create")
def create(name: Name, role: Annotated[Role, typer.Option(help=_ROLE_HELP)] = Role.viewer,
           password_stdin: PasswordStdin = False, database: Database = DEFAULT_DATABASE) -> None:
    """Create a user with a role, asking for their password."""
    password = _password(password_stdin)
    try:
        made = in_transaction(database, lambda c: team.create_user(
            c, cli_actor(), name, password, role.value, datetime.now(UTC)), create=True)
    except users.UserError as error:
        raise _fail(str(error)) from None
    typer.echo(f"created user {made.name} ({made.role})")


@users_app.command("list")
def list_users(database: Database = DEFAULT_DATABASE) -> None:
    """List the users: name, role, created, and disabled or active."""
    for user in in_transaction(database, users.users):
        state = f"disabled {user.disabled_at}" if user.disabled_at else "active"
        typer.echo(f"{user.name}\t{user.role}\t{user.created_at}\t{state}")


@users_app.command("set-role")
def set_role(name: Name, role: Annotated[Role, typer.Argument(help=_ROLE_HELP)],
             database: Database = DEFAULT_DATABASE) -> None:
    """Give a user another role (from their next request on)."""
    found = _changed(in_transaction(database, lambda c: team.set_role(
        c, cli_actor(), name, role.value, datetime.now(UTC))), name)
    typer.echo(f"{found.name} is now {found.role}")


@users_app.command("disable")
def disable(name: Name, database: Database = DEFAULT_DATABASE) -> None:
    """Disable a user: they cannot sign in, and their sessions end now."""
    found = _changed(in_transaction(
        database, lambda c: team.set_disabled(c, cli_actor(), name, True, datetime.now(UTC))),
        name)
    typer.echo(f"disabled {found.name}")


@users_app.command("enable")
def enable(name: Name, database: Database = DEFAULT_DATABASE) -> None:
    """Let a disabled user sign in again."""
    found = _changed(in_transaction(
        database, lambda c: team.set_disabled(c, cli_actor(), name, False, datetime.now(UTC))),
        name)
    typer.echo(f"enabled {found.name}")


@users_app.command("reset-password")
def reset_password(name: Name, password_stdin: PasswordStdin = False,
                   database: Database = DEFAULT_DATABASE) -> None:
    """Set a user's password (asking for it); their sessions end."""
    password = _password(password_stdin)
    try:
        found = _changed(in_transaction(database, lambda c: team.reset_password(
            c, cli_actor(), name, password, datetime.now(UTC))), name)
    except users.UserError as error:
        raise _fail(str(error)) from None
    typer.echo(f"the password of {found.name} is changed; their sessions ended")


def register(app: typer.Typer) -> None:
    """Add the ``users`` command group to the main application."""
    app.add_typer(users_app)
