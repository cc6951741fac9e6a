"""The ``itinera`` command starts fast: ``--help`` and ``validate`` never import the web stack,
the database layer or scipy (``itinera.cli.main`` loads each command's module only when it runs),
and the table ``--help`` is printed from stays true to the commands themselves."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from itinera.cli.main import COMMANDS, app, load_command

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"fastapi", "starlette", "uvicorn", "scipy", "numpy", "httpx", "sqlalchemy", "alembic",
         "psycopg", "multipart", "aiosmtpd"}


def imported(*args: str) -> set[str]:
    """The top-level packages ``python -m itinera ARGS`` imports (from ``-X importtime``)."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "itinera", *args],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)$", run.stderr, re.MULTILINE)
    assert "itinera.cli.main" in names  # the parse saw the imports
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("args", [
    ["--help"],
    ["validate", "examples/csb-renewal.journey.yaml", "--workspace", "examples/csb-renewal.scenario.yaml"],
    ["validate", "tests/conformance/cases/01-round-robin-csm.yaml"],
    ["schema", "journey"],
], ids=["help", "validate-journey", "validate-scenario", "schema"])
def test_light_commands_do_not_import_the_heavy_modules(
        args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert imported(*args) & HEAVY == set()


def test_a_heavy_command_still_imports_what_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert {"fastapi", "uvicorn"} <= imported("serve", "--help")  # the check above can fail


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_help_table_says_what_the_command_says(name: str) -> None:
    command = load_command(name)
    own = (command.help or "").split("\n\n")[0]
    assert " ".join(COMMANDS[name].help.split()) == " ".join(own.split())


def test_help_lists_every_command_and_a_command_runs_from_the_table() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    listed = re.findall(r"^│ (\w+)\s{2,}", result.output, re.MULTILINE)
    assert listed == list(COMMANDS)
    result = CliRunner().invoke(app, ["schema", "journey"])
    assert result.exit_code == 0 and '"$schema"' in result.output
    assert CliRunner().invoke(app, ["no-such-command"]).exit_code == 2
