"""The audit log: who changed what, when, from where, and how (before/after).

Every change a person or a key makes is recorded by :func:`record` **in the transaction that
makes it**, so the entry and the change commit (or roll back) together. The table is
append-only: nothing here updates or deletes an entry, and the database refuses to (triggers,
``schema.APPEND_ONLY``). ``before``/``after`` are bounded (:data:`MAX_VALUE` bytes of JSON
each; larger ones are kept as their size and sha256) and never hold a secret: values under
keys named like passwords, secrets, tokens or keys are replaced by ``"[redacted]"``.

:func:`record_inputs` records the inputs that change configuration (publish, lifecycle
commands, workspace data) as the API and the CLI receive them; :func:`entries` reads the log
with filters, newest first.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from itinera.domain.actor import Actor
from itinera.storage import queries
from itinera.storage import schema as t
from itinera.timeutil import as_utc, format_instant

__all__ = ["KINDS", "MAX_VALUE", "Filters", "entries", "record", "record_inputs", "redacted",
           "task_change"]

KINDS = ("publish", "enable", "pause", "resume", "disable", "submit", "approve", "reject",
         "workspace_apply", "template_edit", "segment_edit", "key_create", "key_revoke",
         "user_create", "user_disable", "user_enable", "user_role", "user_password_reset",
         "task_reassign", "task_complete", "draft_create", "draft_change", "draft_delete",
         "rollback", "move", "suppression_lift")
"""The kinds recorded so far; another matching ``[a-z][a-z_]*`` is accepted."""
MAX_VALUE = 16_384
_KIND = re.compile(r"[a-z][a-z_]{0,39}")
_SECRET = re.compile(r"password|secret|token|^key$|api_key|credential|session", re.IGNORECASE)
_LIFECYCLE = ("enable", "pause", "resume", "disable")
_EDITS = {"templates": ("template", "template_edit"), "segments": ("segment", "segment_edit")}


def redacted(value: Any) -> Any:
    """``value`` with every value under a secret-looking key replaced by ``"[redacted]"``."""
    if isinstance(value, Mapping):
        return {str(k): "[redacted]" if _SECRET.search(str(k)) else redacted(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(v) for v in value]
    return value


def _bounded(value: Any) -> Any:
    if value is None:
        return None
    value = redacted(value)
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    if len(text.encode()) <= MAX_VALUE:
        return json.loads(text)  # plain JSON: what the column holds on either database
    return {"truncated": True, "bytes": len(text.encode()),
            "sha256": hashlib.sha256(text.encode()).hexdigest()}


def record(connection: sa.Connection, actor: Actor, kind: str, object: tuple[str, str],
           before: Any = None, after: Any = None, *, at: datetime | None = None) -> int:
    """Add an entry in ``connection``'s transaction (the change's own); returns its id.

    ``object`` is ``(object_kind, object_id)``: ``("journey", "onboarding")``."""
    if not _KIND.fullmatch(kind):
        raise ValueError(f"audit kind {kind!r}: lowercase letters and _")
    object_kind, object_id = object
    result = connection.execute(sa.insert(t.audit).values(
        at=at or datetime.now(UTC), actor_kind=actor.kind, actor_id=str(actor.id)[:200],
        actor_name=str(actor.name)[:200], address=actor.address, kind=kind,
        object_kind=str(object_kind)[:100], object_id=str(object_id)[:200],
        before=_bounded(before), after=_bounded(after)))
    key = result.inserted_primary_key
    return int(key[0]) if key else 0


def record_inputs(connection: sa.Connection, actor: Actor, entries: Sequence[Any]) -> int:
    """Record the inputs of ``entries`` that change configuration — ``publish`` (before: the
    journey's current definition), lifecycle commands (before/after: the status) and
    ``configure`` (one ``workspace_apply``, plus a ``template_edit``/``segment_edit`` for each
    template or segment whose body changes) — read before they apply; how many recorded.
    Data (events, accounts, people) is not audited."""
    count = 0
    statuses: dict[str, str] | None = None
    for entry in entries:
        if not isinstance(entry, dict) or not entry:
            continue
        if "publish" in entry:  # with its in-flight ``moves``, if any
            kind, payload = "publish", entry["publish"]
        elif len(entry) == 1:
            ((kind, payload),) = entry.items()
        else:
            continue
        if kind == "publish" and isinstance(payload, dict):
            journey_id = str(payload.get("id"))
            current = queries.current_definitions(connection).get(journey_id)
            moves = {k: v for k, v in entry.items() if k != "publish"}
            record(connection, actor, "publish", ("journey", journey_id),
                   before=None if current is None else {"version": current[0],
                                                        "definition": current[1]},
                   after={"definition": payload, **moves})
        elif kind in _LIFECYCLE and isinstance(payload, str):
            if statuses is None:
                statuses = queries.journey_statuses(connection)
            record(connection, actor, kind, ("journey", payload),
                   before={"status": statuses.get(payload)}, after={"command": kind})
        elif kind == "configure" and isinstance(payload, dict):
            count += _configure(connection, actor, payload)
        else:
            continue
        count += 1
    return count


def task_change(connection: sa.Connection, actor: Actor, kind: str, task_id: int,
                change: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
    """Run ``change`` (completing or reassigning the task ``task_id`` in ``connection``) and
    record it when it changed the task's status or assignee; returns what ``change`` does."""
    before = queries.task(connection, task_id)
    after = change()
    if before is not None and after is not None:
        fields = ("status", "assignee")
        old, new = ({f: task.get(f) for f in fields} for task in (before, after))
        if old != new:
            record(connection, actor, kind, ("task", str(task_id)), before=old, after=new)
    return after


def _configure(connection: sa.Connection, actor: Actor, payload: dict[str, Any]) -> int:
    count = 0
    stored = {(r.kind, r.id): r.body for r in connection.execute(
        sa.select(t.config.c.kind, t.config.c.id, t.config.c.body)
        .where(t.config.c.kind.in_(["template", "segment"])))}
    for key, (object_kind, kind) in _EDITS.items():
        for item in payload.get(key) or []:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            before = stored.get((object_kind, item["id"]))
            after = item if object_kind == "template" else item.get("when")
            if before is not None and _same(before, after):
                continue
            record(connection, actor, kind, (object_kind, item["id"]), before=before, after=after)
            count += 1
    summary = {k: len(v) if isinstance(v, list | dict) else v for k, v in payload.items()}
    record(connection, actor, "workspace_apply", ("workspace", "workspace"), after=summary)
    return count


def _same(before: Any, after: Any) -> bool:
    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items() if v is not None and k != "approved"}
        return value
    return bool(plain(before) == plain(after))


@dataclass(frozen=True)
class Filters:
    """What :func:`entries` keeps: ``actor`` matches the label (``key:ci``), the name or the
    id; ``object_kind``/``object_id`` the object; ``since``/``until`` the time (inclusive,
    exclusive)."""

    actor: str | None = None
    object_kind: str | None = None
    object_id: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def entries(connection: sa.Connection, filters: Filters, limit: int = 50,
            after: int | None = None) -> list[dict[str, Any]]:
    """Entries matching ``filters``, newest first: ``limit`` of them with ids below ``after``."""
    a = t.audit.c
    query = sa.select(t.audit).order_by(a.id.desc()).limit(limit)
    if filters.actor:
        kind, _, name = filters.actor.partition(":")
        by_label = sa.and_(a.actor_kind == kind, a.actor_name == name) if name else sa.false()
        query = query.where(sa.or_(a.actor_id == filters.actor, a.actor_name == filters.actor,
                                   by_label))
    if filters.object_kind:
        query = query.where(a.object_kind == filters.object_kind)
    if filters.object_id:
        query = query.where(a.object_id == filters.object_id)
    if filters.kind:
        query = query.where(a.kind == filters.kind)
    if filters.since is not None:
        query = query.where(a.at >= filters.since)
    if filters.until is not None:
        query = query.where(a.at < filters.until)
    if after is not None:
        query = query.where(a.id < after)
    return [_entry(row) for row in connection.execute(query)]


def _entry(row: sa.Row[Any]) -> dict[str, Any]:
    at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC)
    return {"id": row.id, "at": format_instant(as_utc(at)),
            "actor": {"kind": row.actor_kind, "id": row.actor_id, "name": row.actor_name,
                      "label": f"{row.actor_kind}:{row.actor_name}"},
            "address": row.address, "kind": row.kind,
            "object": {"kind": row.object_kind, "id": row.object_id},
            "before": row.before, "after": row.after}
