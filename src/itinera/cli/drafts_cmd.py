"""``itinera drafts list|export``: the studio's drafts from a shell (read only: drafts are
edited in the studio or over ``/api/drafts``; a file is published with ``journeys publish``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from itinera.cli.database import DEFAULT_DATABASE, Database, in_transaction, stderr
from itinera.runtime.drafts import file_name
from itinera.storage import drafts as store

__all__ = ["register"]

drafts_app = typer.Typer(name="drafts", no_args_is_help=True, add_completion=False,
                         help="List the studio's drafts and export one as a file.")


@drafts_app.command("list")
def list_drafts(
    kind: Annotated[str | None, typer.Option(help="journey, segment or template.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Every draft, the latest changed first: id, kind, what it edits, revision, who, when."""
    if kind is not None and kind not in store.DRAFT_KINDS:
        stderr().print(f"--kind: {kind!r} is not one of {', '.join(store.DRAFT_KINDS)}",
                       markup=False)
        raise typer.Exit(2)
    found = in_transaction(database, lambda c: store.list_drafts(c, kind))
    if as_json:
        rows = [{k: v for k, v in d.as_dict().items() if k != "text"} for d in found]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table("id", "kind", "object", "rev", "base", "updated", "by")
    for d in found:
        table.add_row(d.id, d.kind, d.object_id or "", str(d.revision),
                      str(d.base_version or ""), d.updated_at or "", d.updated_by)
    Console(emoji=False, highlight=False, soft_wrap=True).print(table)


@drafts_app.command("export")
def export_draft(
    draft: Annotated[str, typer.Argument(help="The draft's id (d_...).")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write to this file (a folder: its own name in it); else stdout.")]
    = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """A draft's text as written (comments included), to stdout or a file."""
    found = in_transaction(database, lambda c: store.get_draft(c, draft))
    if found is None:
        stderr().print(f"no draft {draft!r}", markup=False)
        raise typer.Exit(1)
    if out is None:
        typer.echo(found.text, nl=False)
        return
    target = out / file_name(found.kind, found.object_id) if out.is_dir() else out
    target.write_text(found.text, encoding="utf-8")
    stderr().print(f"wrote {target}", markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``drafts`` command group to the main application."""
    app.add_typer(drafts_app)
