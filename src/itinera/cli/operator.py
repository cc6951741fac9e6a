"""Who runs a CLI command, for the audit log: the operating-system user (``cli:<name>``).

The CLI talks to the database directly, so it has no key or session: the person at the
terminal is named by the account they are logged in as (``$USER``, else the process owner).
"""

from __future__ import annotations

import getpass

from itinera.domain.actor import Actor

__all__ = ["cli_actor"]


def cli_actor() -> Actor:
    """The CLI's actor: kind ``cli``, the OS user as id and name, no address."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment nor the password database
        name = "unknown"
    return Actor("cli", name, name, None)
