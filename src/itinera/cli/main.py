"""The ``itinera`` command: a table of its commands, each loaded only when it runs.

Importing every command's module up front costs seconds (FastAPI, uvicorn, SQLAlchemy, Alembic,
scipy, httpx...), so ``itinera --help`` and ``itinera validate`` would wait for the web stack they
never use. Here each top-level command names the module that registers it and its one-line help;
``--help`` lists the table without importing anything, and running a command imports only its
module. ``tests/unit/test_cli_startup.py`` keeps the table's help equal to the commands' own and
the light commands free of the heavy modules; ``bench/cli_startup.py`` measures start-up.
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

__all__ = ["COMMANDS", "LazyCommand", "app", "load_command"]


class LazyCommand(NamedTuple):
    """Where a top-level command lives and what ``itinera --help`` says of it."""

    module: str
    help: str


COMMANDS: dict[str, LazyCommand] = {
    name: LazyCommand(f"itinera.cli.{module}", help) for name, module, help in [
        ("validate", "validate_cmd",
         "Check journey and scenario files; list every problem, one per line, with its place."),
        ("schema", "validate_cmd",
         "Print the JSON Schema (draft 2020-12) of journey, scenario or workspace files."),
        ("simulate", "simulate_cmd",
         "Run a scenario on a virtual clock, every channel in sandbox, and report what happened."),
        ("backtest", "backtest_cmd",
         "Replay the recorded history through a draft journey in the simulator, with no effects."),
        ("report", "report_cmd", "A journey's funnel, goal conversion, per-day series and experiments."),
        ("serve", "serve_cmd",
         "Serve the REST API (Segment-compatible tracking, bulk ingestion, journeys, enrollments, "
         "tasks) with a worker applying what it receives."),
        ("demo", "demo_cmd",
         "Run the service on ./itinera-demo.db with the example journey and a made-up world."),
        ("worker", "worker_cmd",
         "Run one more worker beside `itinera serve --shared` on the same PostgreSQL database."),
        ("dispatch", "dispatch_cmd",
         "Deliver the outbox (emails, webhooks, campaign calls) until stopped."),
        ("import", "import_cmd",
         "Import CSV files of accounts, people, buying-group members or events into the inbox."),
        ("db", "db_cmd", "Create and upgrade a store's schema (Alembic migrations)."),
        ("keys", "keys_cmd", "Create, list and revoke the API keys of a live service."),
        ("users", "users_cmd", "Create, list, disable users and set their roles and passwords."),
        ("workspace", "workspace_cmd", "Apply and show the workspace: segments, templates, CSMs..."),
        ("journeys", "journeys_cmd", "Publish, enable, pause, resume, disable and list live journeys."),
        ("enrollments", "journeys_cmd", "List enrollments and show one with its decision history."),
        ("accounts", "accounts_cmd",
         "Find accounts and show one with its people, buying groups, segments and enrollments."),
        ("explain", "explain_cmd",
         "Why an account is or is not in a journey: entry, re-entry, status, next change."),
        ("tasks", "tasks_cmd", "List, complete and reassign Human Intervention Tasks."),
        ("deliveries", "deliveries_cmd", "List deliveries (dead letters too), show one, retry dead ones."),
        ("scenarios", "scenarios_cmd", "Keep scenario files in the workspace, to test drafts with."),
        ("audit", "audit_cmd", "Show the audit log: who changed what, when, from where."),
        ("drafts", "drafts_cmd", "List the studio's drafts and export one as a file."),
        ("bounces", "bounces_cmd",
         "Receive bounces and complaints over SMTP; hard bounces and complaints suppress."),
    ]
}


def load_command(name: str) -> Any:
    """The click command ``name`` as its module registers it (importing that module now)."""
    module = importlib.import_module(COMMANDS[name].module)
    holder = typer.Typer(add_completion=False)
    holder.callback()(lambda: None)  # a group, even for a module that registers one command
    module.register(holder)
    return typer.main.get_command(holder).commands[name]  # type: ignore[attr-defined]


class _LazyGroup(TyperGroup):
    """A group whose commands are ``COMMANDS``, imported on first use; help lists the table."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in COMMANDS if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        if self._listing:  # the help page needs only the name and the line of help
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name].help)
        command = load_command(cmd_name)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="itinera", cls=_LazyGroup, no_args_is_help=True, add_completion=False,
    help="Account-journey orchestration: journeys as code, testable before they go live.",
)


@app.callback()
def _main() -> None:
    """Account-journey orchestration: journeys as code, testable before they go live."""
