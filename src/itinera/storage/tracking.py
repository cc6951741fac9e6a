"""Tracked clicks and opens of emails (``email_hits``): recorded by the tracking routes, read
for bot flagging and for each node's click and open rates.

A hit's id is the id of the event it becomes (``click:<effect>:<link>:<second>``): a second hit
of the same link in the same second is the same hit, stored once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from itinera.storage import schema as t
from itinera.timeutil import as_utc

__all__ = ["EmailOf", "NodeRates", "email_of", "hits_since", "node_rates", "record_hit"]


@dataclass(frozen=True)
class EmailOf:
    """What a tracked URL's effect is: whom it went to, from which journey node and template,
    when it was delivered, and whether its person has unsubscribed since."""

    id: int
    key: str
    account: str | None
    person: str | None
    journey: str | None
    node: str | None
    template: str | None
    delivered_at: datetime | None
    unsubscribed: bool


def email_of(conn: sa.Connection, effect: int) -> EmailOf | None:
    """The email effect ``effect``, or None when there is no such email."""
    e, p = t.effects, t.people
    row = conn.execute(
        sa.select(e.c.id, e.c.key, e.c.account, e.c.person, e.c.journey, e.c.node, e.c.payload,
                  e.c.delivered_at, p.c.unsubscribed)
        .select_from(e.outerjoin(p, p.c.id == e.c.person))
        .where(e.c.id == effect, e.c.channel == "email")).first()
    if row is None:
        return None
    template = row.payload.get("template") if isinstance(row.payload, dict) else None
    return EmailOf(row.id, row.key, row.account, row.person, row.journey, row.node,
                   template if isinstance(template, str) else None,
                   None if row.delivered_at is None else as_utc(row.delivered_at),
                   bool(row.unsubscribed))


def record_hit(conn: sa.Connection, hit: dict[str, Any]) -> bool:
    """Store a hit (a row of ``email_hits``); False when one of its id is already stored."""
    if conn.execute(sa.select(t.email_hits.c.id).where(t.email_hits.c.id == hit["id"])).first():
        return False
    conn.execute(t.email_hits.insert().values(**hit))
    return True


def hits_since(conn: sa.Connection, effect: int, kind: str, since: datetime) -> int:
    """How many hits of ``kind`` the email ``effect`` had from ``since`` on."""
    h = t.email_hits
    return int(conn.execute(sa.select(sa.func.count()).where(
        h.c.effect == effect, h.c.kind == kind, h.c.at >= since)).scalar_one())


@dataclass(frozen=True)
class NodeRates:
    """A node's emails delivered, and how many of them were clicked or opened by people
    (distinct emails; bots' hits apart)."""

    delivered: int
    clicked: int
    opened: int
    bot_hits: int

    @property
    def click_rate(self) -> float | None:
        return self.clicked / self.delivered if self.delivered else None

    @property
    def open_rate(self) -> float | None:
        return self.opened / self.delivered if self.delivered else None

    def as_json(self) -> dict[str, Any]:
        return {"delivered": self.delivered, "clicked": self.clicked, "opened": self.opened,
                "click_rate": self.click_rate, "open_rate": self.open_rate,
                "bot_hits": self.bot_hits}


def node_rates(conn: sa.Connection, journey: str) -> dict[str, NodeRates]:
    """Per node of ``journey`` with delivered emails: its rates, set-wise (two grouped reads)."""
    e, h = t.effects, t.email_hits
    delivered = {row.node: int(row.n) for row in conn.execute(
        sa.select(e.c.node, sa.func.count().label("n"))
        .where(e.c.journey == journey, e.c.channel == "email", e.c.status == "delivered")
        .group_by(e.c.node))}
    people = (sa.select(h.c.node, h.c.kind, sa.func.count(sa.distinct(h.c.effect)).label("n"))
              .where(h.c.journey == journey, h.c.bot.is_(False)).group_by(h.c.node, h.c.kind))
    human: dict[tuple[str, str], int] = {(r.node, r.kind): int(r.n) for r in conn.execute(people)}
    bots = {row.node: int(row.n) for row in conn.execute(
        sa.select(h.c.node, sa.func.count().label("n"))
        .where(h.c.journey == journey, h.c.bot.is_(True)).group_by(h.c.node))}
    nodes = set(delivered) | {node for node, _ in human} | set(bots)
    return {node: NodeRates(delivered.get(node, 0), human.get((node, "click"), 0),
                            human.get((node, "open"), 0), bots.get(node, 0))
            for node in nodes if node is not None}
