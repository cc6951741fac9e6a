"""Read-side SQL for the API, and the few writes it makes without the engine.

Reads: enrollments (filtered, paged by id), one enrollment with its history, tasks (the
``task`` effects), rejected messages, journeys with their states and versions, and what the
store knows (accounts, people, journeys, workspace ids), counting inputs still in the inbox.
Writes: task completion and reassignment (the task effect's status and payload) and
rejected messages. Every function takes a connection; the caller owns the transaction. Rows
come back as JSON-ready mappings, instants as UTC ISO-8601 with a ``Z``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from itinera.domain.journey_status import after
from itinera.jsonvalues import storable
from itinera.storage import schema as t
from itinera.storage.inbox import take_keys
from itinera.storage.rows import history_entries
from itinera.timeutil import format_instant

__all__ = [
    "add_rejected",
    "complete_task",
    "effect_counts",
    "enrollment",
    "enrollment_counts",
    "enrollments",
    "history",
    "journey",
    "journeys",
    "known_accounts",
    "known_journeys",
    "known_people",
    "reassign_task",
    "rejected",
    "task",
    "tasks",
    "workspace_data",
]
# A publish that carries moves, its text or who published it is kept as this inbox kind, its
# journey under "journey" (engine.commands.PUBLISH_MOVING; the engine is not imported here).
_PUBLISH_MOVING = "publish_moving"



def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return format_instant(value.replace(tzinfo=UTC) if value.tzinfo is None else value)


# -- rejected messages ---------------------------------------------------------------------
def add_rejected(conn: sa.Connection, source: str, items: list[tuple[str, Any]],
                 now: datetime, keys: list[str | None] | None = None) -> None:
    """Keep messages that could not be mapped: (reason, message) each. A message is kept as
    it came, but for what no store can hold (its reason says what that was). ``keys``: one
    idempotency key per message (or None): one kept before is not kept again (a retry)."""
    if keys is not None:
        taken = take_keys(conn, {k: now for k in keys if k is not None})
        kept = []
        for item, key in zip(items, keys, strict=True):
            if key is None:
                kept.append(item)
            elif key in taken:  # once, though the request repeats it
                kept.append(item)
                taken.discard(key)
        items = kept
    if items:
        conn.execute(sa.insert(t.rejected), [
            {"source": source, "reason": storable(reason), "payload": storable(payload),
             "received_at": now}
            for reason, payload in items])


def rejected(conn: sa.Connection, source: str | None, limit: int,
             after: int | None) -> tuple[int, list[dict[str, Any]]]:
    """How many messages are kept (of ``source``, or all), and one page of them by id."""
    where = [] if source is None else [t.rejected.c.source == source]
    total = conn.execute(sa.select(sa.func.count()).select_from(t.rejected).where(*where)).scalar()
    if after is not None:
        where.append(t.rejected.c.id > after)
    rows = conn.execute(sa.select(t.rejected).where(*where).order_by(t.rejected.c.id).limit(limit))
    return int(total or 0), [
        {"id": r.id, "source": r.source, "reason": r.reason, "message": r.payload,
         "received_at": _iso(r.received_at)} for r in rows]


# -- enrollments ---------------------------------------------------------------------------
def _enrollment(row: Any) -> dict[str, Any]:
    return {"id": row.id, "journey": row.journey, "version": row.version,
            "account": row.account, "status": row.status, "goal_achieved": row.goal_achieved,
            "goal_at": _iso(row.goal_at), "enrolled_at": _iso(row.enrolled_at),
            "ended_at": _iso(row.ended_at), "reason": row.reason, "path": list(row.path),
            "variants": dict(row.variants)}


def enrollments(conn: sa.Connection, *, journey: str | None = None, account: str | None = None,
                status: str | None = None, limit: int = 100,
                after: int | None = None) -> list[dict[str, Any]]:
    """Enrollments matching every given filter, by id, those after ``after`` only."""
    c = t.enrollments.c
    query = sa.select(t.enrollments).order_by(c.id).limit(limit)
    for column, value in ((c.journey, journey), (c.account, account), (c.status, status)):
        if value is not None:
            query = query.where(column == value)
    if after is not None:
        query = query.where(c.id > after)
    return [_enrollment(r) for r in conn.execute(query)]


def enrollment(conn: sa.Connection, id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(t.enrollments).where(t.enrollments.c.id == id)).first()
    return None if row is None else _enrollment(row)


def history(conn: sa.Connection, enrollment: int) -> list[dict[str, Any]]:
    """What the enrollment did and why, in order (as ``SqlStore.history``, instants as text)."""
    rows = conn.execute(sa.select(t.history).where(t.history.c.enrollment == enrollment)
                        .order_by(t.history.c.id))
    return [{"at": _iso(r.at), "node": node, **entry}
            for r in rows for node, entry in history_entries(r)]


# -- tasks ---------------------------------------------------------------------------------
def _task(row: Any) -> dict[str, Any]:
    payload = dict(row.payload)
    return {"id": row.id, "status": row.status, "title": payload.pop("title", None),
            "assignee": payload.pop("assignee", None), "due": payload.pop("due", None),
            "notes": payload.pop("notes", None), "journey": row.journey, "node": row.node,
            "account": row.account, "person": row.person, "created_at": _iso(row.at), **payload}


def tasks(conn: sa.Connection, *, assignee: str | None = None, status: str | None = None,
          account: str | None = None, limit: int = 100,
          after: int | None = None) -> list[dict[str, Any]]:
    c = t.effects.c
    query = sa.select(t.effects).where(c.channel == "task").order_by(c.id).limit(limit)
    if assignee is not None:
        query = query.where(c.payload["assignee"].as_string() == assignee)
    if status is None:  # a task skipped (nobody to assign it to) is no task to do
        query = query.where(c.status != "skipped")
    elif status == "open":  # every state but completed: pending, sent (stored), failing...
        query = query.where(c.status.not_in(("completed", "skipped")))
    else:
        query = query.where(c.status == status)
    if account is not None:
        query = query.where(c.account == account)
    if after is not None:
        query = query.where(c.id > after)
    return [_task(r) for r in conn.execute(query)]


def task(conn: sa.Connection, id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(t.effects).where(
        t.effects.c.id == id, t.effects.c.channel == "task")).first()
    return None if row is None else _task(row)


def _update_task(conn: sa.Connection, id: int, status: str, payload: dict[str, Any]) -> None:
    conn.execute(sa.update(t.effects).where(t.effects.c.id == id)
                 .values(status=status, payload=payload))


def _task_row(conn: sa.Connection, id: int) -> Any:
    """The task to complete or reassign; a skipped one (nobody to assign it to) is no task to
    do, as in the listing."""
    return conn.execute(sa.select(t.effects).where(
        t.effects.c.id == id, t.effects.c.channel == "task",
        t.effects.c.status != "skipped").with_for_update()).first()


def complete_task(conn: sa.Connection, id: int, now: datetime,
                  note: str | None = None) -> dict[str, Any] | None:
    """Mark the task completed (a completed task stays as it was); None when there is none."""
    row = _task_row(conn, id)
    if row is None:
        return None
    if row.status != "completed":
        payload = {**row.payload, "completed_at": _iso(now)}
        if note is not None:
            payload["completion_note"] = note
        _update_task(conn, id, "completed", payload)
    return task(conn, id)


def reassign_task(conn: sa.Connection, id: int, assignee: str,
                  now: datetime) -> dict[str, Any] | None:
    """Give the task to ``assignee``, keeping who had it in ``reassignments``."""
    row = _task_row(conn, id)
    if row is None:
        return None
    payload = dict(row.payload)
    if payload.get("assignee") != assignee:
        moves = [*payload.get("reassignments", []),
                 {"from": payload.get("assignee"), "to": assignee, "at": _iso(now)}]
        payload.update(assignee=assignee, reassignments=moves)
        _update_task(conn, id, row.status, payload)
    return task(conn, id)


# -- journeys ------------------------------------------------------------------------------
def _states(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    rows = conn.execute(sa.select(t.config.c.id, t.config.c.body)
                        .where(t.config.c.kind == "journey_state"))
    return {r.id: dict(r.body) for r in rows}


def journeys(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every published journey: its status, current version and versions, by id."""
    states = _states(conn)
    found: dict[str, dict[str, Any]] = {}
    rows = conn.execute(sa.select(t.journeys.c.id, t.journeys.c.version,
                                  t.journeys.c.definition, t.journeys.c.published_at)
                        .order_by(t.journeys.c.id, t.journeys.c.version))
    for r in rows:
        state = states.get(r.id, {})
        entry = found.setdefault(r.id, {
            "id": r.id, "name": None, "status": state.get("status", "draft"),
            "version": state.get("version"), "versions": []})
        entry["versions"].append({"version": r.version, "published_at": _iso(r.published_at)})
        if r.version == entry["version"] or entry["version"] is None:
            entry["name"] = r.definition.get("name")
    return list(found.values())


def journey(conn: sa.Connection, id: str) -> dict[str, Any] | None:
    """One journey as :func:`journeys` lists it, with its current version's definition."""
    found = next((j for j in journeys(conn) if j["id"] == id), None)
    if found is None:
        return None
    version = found["version"] or found["versions"][-1]["version"]
    found["definition"] = conn.execute(sa.select(t.journeys.c.definition).where(
        t.journeys.c.id == id, t.journeys.c.version == version)).scalar()
    return found


def current_definitions(conn: sa.Connection) -> dict[str, tuple[int, dict[str, Any]]]:
    """Each published journey's current version (the one new enrollments take, else its
    latest) and that version's definition, in one read."""
    states = _states(conn)
    rows = conn.execute(sa.select(t.journeys.c.id, t.journeys.c.version, t.journeys.c.definition)
                        .order_by(t.journeys.c.id, t.journeys.c.version))
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    for r in rows:
        current = states.get(r.id, {}).get("version")
        if current is None or r.version == current:
            found[r.id] = (r.version, r.definition)
    return found


# -- what the store knows, counting inputs not yet applied ---------------------------------
def _pending_ids(conn: sa.Connection, kind: str, ids: set[str]) -> set[str]:
    payload_id = t.inbox.c.payload["id"].as_string()
    rows = conn.execute(sa.select(payload_id).where(t.inbox.c.kind == kind,
                                                    payload_id.in_(sorted(ids))))
    return {r[0] for r in rows}


def known_accounts(conn: sa.Connection, ids: set[str]) -> set[str]:
    """Those of ``ids`` that are accounts, or will be once the inbox is applied."""
    if not ids:
        return set()
    found = set(conn.execute(sa.select(t.accounts.c.id).where(
        t.accounts.c.id.in_(sorted(ids)))).scalars())
    return found | _pending_ids(conn, "upsert_account", ids - found)


def known_people(conn: sa.Connection, ids: set[str]) -> set[str]:
    """Those of ``ids`` that are people, or will be once the inbox is applied (an
    ``upsert_person``, or an ``upsert_account`` linking its ``people``)."""
    if not ids:
        return set()
    found = set(conn.execute(sa.select(t.people.c.id).where(
        t.people.c.id.in_(sorted(ids)))).scalars())
    found |= _pending_ids(conn, "upsert_person", ids - found)
    if ids - found:  # the inbox holds inputs not yet applied only: a backlog at most
        linked = t.inbox.c.payload["people"].as_string()
        for (people,) in conn.execute(sa.select(linked).where(
                t.inbox.c.kind == "upsert_account", linked.is_not(None))):
            found |= ids & set(json.loads(people) or [])
    return found


def journey_statuses(conn: sa.Connection) -> dict[str, str]:
    """Each journey's status once the inbox is applied: as stored, then each publish and
    lifecycle command waiting in the inbox in arrival order (``after``: the status a command
    leaves, None when it changes nothing)."""
    statuses = {j: s.get("status", "draft") for j, s in _states(conn).items()}
    statuses |= {j: "draft" for j in conn.execute(sa.select(t.journeys.c.id).distinct()).scalars()
                 if j not in statuses}
    pending = conn.execute(sa.select(t.inbox.c.kind, t.inbox.c.payload).where(
        t.inbox.c.kind.in_(["publish", _PUBLISH_MOVING, "enable", "pause", "resume",
                            "disable"]))
        .order_by(t.inbox.c.seq))
    for kind, payload in pending:
        if kind == _PUBLISH_MOVING and isinstance(payload, dict):
            kind, payload = "publish", payload.get("journey")
        if kind == "publish":
            if isinstance(payload, dict) and isinstance(payload.get("id"), str):
                statuses.setdefault(payload["id"], "draft")
        elif payload in statuses:
            statuses[payload] = after(kind, statuses[payload]) or statuses[payload]
    return statuses


def known_journeys(conn: sa.Connection) -> set[str]:
    """Ids of the published journeys and of those whose publish waits in the inbox."""
    found = set(conn.execute(sa.select(t.journeys.c.id).distinct()).scalars())
    pending = conn.execute(sa.select(t.inbox.c.payload["id"].as_string())
                           .where(t.inbox.c.kind == "publish"))
    wrapped = conn.execute(sa.select(t.inbox.c.payload[("journey", "id")].as_string())
                           .where(t.inbox.c.kind == _PUBLISH_MOVING))
    return found | {r[0] for r in [*pending, *wrapped] if r[0] is not None}


def workspace_data(conn: sa.Connection) -> dict[str, Any]:
    """The workspace's segments, templates, CSMs, playbooks and role templates as raw
    workspace data (what reference checks read), with ``configure`` inputs not yet applied."""
    data: dict[str, list[Any]] = {"segments": [], "templates": [], "csms": [], "playbooks": [],
                                  "role_templates": []}
    kinds = {"segment": "segments", "template": "templates", "csm": "csms",
             "role_template": "role_templates"}
    rows = conn.execute(sa.select(t.config.c.kind, t.config.c.id, t.config.c.body)
                        .where(t.config.c.kind.in_([*kinds, "playbook"]))
                        .order_by(t.config.c.seq))
    for r in rows:
        if r.kind == "playbook":
            data["playbooks"].append(r.id)
        elif r.kind == "segment":
            data["segments"].append({"id": r.id, "when": r.body})
        else:
            data[kinds[r.kind]].append({**r.body, "id": r.id})
    pending = conn.execute(sa.select(t.inbox.c.payload).where(t.inbox.c.kind == "configure")
                           .order_by(t.inbox.c.seq))
    for (payload,) in pending:
        for name in data:
            if isinstance(payload, dict) and isinstance(payload.get(name), list):
                data[name].extend(payload[name])
    return data


def workspace_document(conn: sa.Connection) -> dict[str, Any]:
    """The whole workspace as applied, in the form of workspace data (``configure`` reads it):
    what :func:`workspace_data` gives, with scoring rules, frequency caps and quiet hours."""
    data: dict[str, Any] = workspace_data(conn)
    rows = conn.execute(sa.select(t.config.c.kind, t.config.c.id, t.config.c.body).where(
        t.config.c.kind.in_(["scoring", "frequency_cap", "quiet_hours", "tracking",
                             "approval"]))
        .order_by(t.config.c.seq))
    for r in rows:
        if r.kind == "scoring":
            data["scoring"] = dict(r.body)
        elif r.kind == "approval":  # the approval workflow's setting
            data["approval"] = dict(r.body)
        else:
            name = {"frequency_cap": "frequency_caps"}.get(r.kind, r.kind)
            data.setdefault(name, {})[r.id] = dict(r.body)
    return {k: v for k, v in data.items() if v}


def enrollment_counts(conn: sa.Connection) -> dict[str, int]:
    """How many enrollments are in each status."""
    rows = conn.execute(sa.select(t.enrollments.c.status, sa.func.count().label("n"))
                        .group_by(t.enrollments.c.status))
    return {row.status: int(row.n) for row in rows}


def effect_counts(conn: sa.Connection) -> dict[str, int]:
    """How many effects each channel produced (emails, tasks, webhooks, campaign entries)."""
    rows = conn.execute(sa.select(t.effects.c.channel, sa.func.count().label("n"))
                        .where(t.effects.c.status != "skipped").group_by(t.effects.c.channel))
    return {row.channel: int(row.n) for row in rows}
