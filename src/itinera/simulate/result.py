"""The result of a simulation as docs/reference/scenarios.md writes it, and `expect` checking."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from itinera.definitions.scenario import Expectation
from itinera.engine.catalog import Workspace
from itinera.storage.sql import SqlStore
from itinera.timeutil import format_instant

__all__ = ["build_result", "check_expectations"]


def _canonical(value: Any) -> Any:
    """User data with mapping keys in alphabetical order at every depth: PostgreSQL's JSONB
    does not keep the order keys were written in, and results must not depend on the store."""
    if isinstance(value, dict):
        return {k: _canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _moment(moment: dict[str, Any]) -> dict[str, Any]:
    first = {k: moment.get(k) for k in ("type", "description", "at")}
    rest: dict[str, Any] = _canonical({k: v for k, v in moment.items() if k not in first})
    return first | rest


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def build_result(store: SqlStore, workspace: Workspace, start: datetime,
                 end: datetime) -> dict[str, Any]:
    with store.transaction():
        enrollments = [{
            "journey": e.journey, "version": e.version, "account": e.account,
            "status": e.status, "goal_achieved": e.goal_achieved,
            "goal_at": format_instant(e.goal_at), "enrolled_at": format_instant(e.enrolled_at),
            "ended_at": format_instant(e.ended_at), "path": e.path, "variants": e.variants,
            "reason": e.reason,
        } for e in store.enrollments()]
        deliveries: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        tasks: list[dict[str, Any]] = []
        campaigns: list[dict[str, Any]] = []
        for f in store.effects():
            at = format_instant(f.at)
            where = {"journey": f.journey, "node": f.node, "account": f.account}
            p = f.payload
            if f.status == "skipped":
                skipped.append({"channel": f.channel, "person": f.person, **where,
                                "reason": p.get("reason"), "template": p.get("template"),
                                "at": at})
            elif f.channel == "email":
                email = {"channel": "email", **where, "person": f.person, "to": p["to"],
                         "template": p["template"], "subject": p["subject"], "at": at,
                         "status": f.status}
                if "deferred_from" in p:  # held back by quiet hours
                    email["deferred_from"] = p["deferred_from"]
                deliveries.append(email)
            elif f.channel == "webhook":
                deliveries.append({"channel": "webhook", **where, "person": None,
                                   "url": p["url"], "method": p["method"],
                                   "body": _canonical(p["body"]),
                                   "at": at, "status": f.status})
            elif f.channel == "task":
                tasks.append({"account": f.account, "title": p["title"],
                              "assignee": p["assignee"], "due": p["due"], "notes": p.get("notes"),
                              "journey": f.journey, "node": f.node, "at": at})
            elif f.channel == "campaign":
                campaigns.append({"campaign": p["campaign"], "person": f.person,
                                  "account": f.account, "journey": f.journey, "node": f.node,
                                  "at": at})
        order = [s.id for s in workspace.segments]
        accounts = {}
        for a in store.accounts():
            members = store.segments_of(a.id)
            accounts[a.id] = {
                "attributes": _canonical(a.attributes), "csm": a.csm,
                "created_at": format_instant(a.created_at), "playbooks": a.playbooks,
                "moments": [_moment(m) for m in a.moments],
                "segments": [s for s in order if s in members]}
        people = {p.id: {"account": p.account, "email": p.email, "score": _number(p.score),
                         "unsubscribed": p.unsubscribed} for p in store.all_people()}
        groups = [{
            "account": g.account, "solution": g.solution, "template": g.template,
            "status": g.status, "engagement_score": _number(g.engagement_score),
            "completeness_score": _number(g.completeness_score),
            "members": [{"person": m.person, "role": m.role} for m in g.members],
        } for g in store.all_buying_groups()]
    return {
        "clock": {"start": format_instant(start), "end": format_instant(end)},
        "enrollments": enrollments, "deliveries": deliveries, "skipped": skipped,
        "tasks": tasks, "campaigns": campaigns, "accounts": accounts, "people": people,
        "buying_groups": groups,
    }


def check_expectations(result: dict[str, Any], expectations: list[Expectation]) -> list[str]:
    """Each expectation selects enrollments by journey/account; every selected one must match
    the fields it gives (and ``count`` how many there are). Returns the misses."""
    misses = []
    for i, expect in enumerate(expectations):
        selected = [e for e in result["enrollments"]
                    if (expect.journey is None or e["journey"] == expect.journey)
                    and (expect.account is None or e["account"] == expect.account)]
        label = f"expect[{i}]"
        if expect.count is not None and len(selected) != expect.count:
            misses.append(f"{label}: {len(selected)} enrollments, expected {expect.count}")
            continue
        if not selected and expect.count is None:
            misses.append(f"{label}: no enrollment of journey {expect.journey!r} "
                          f"for account {expect.account!r}")
            continue
        for field in ("version", "status", "goal_achieved", "reason", "path", "variants"):
            wanted = getattr(expect, field)
            if wanted is None:
                continue
            for e in selected:
                if e[field] != wanted:
                    misses.append(f"{label}: {e['journey']}/{e['account']} {field} is "
                                  f"{e[field]!r}, expected {wanted!r}")
    return misses
