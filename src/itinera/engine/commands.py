"""The inputs of the engine as data: a scenario's timeline entries and a live service's
inbox rows share one form (``TimelineEntry``) and one meaning, applied here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from itinera.definitions.models import Journey
from itinera.definitions.scenario import TimelineEntry
from itinera.domain.model import Event
from itinera.engine.engine import Engine
from itinera.timeutil import parse_instant

__all__ = ["PUBLISH_EXTRAS", "PUBLISH_MOVING", "apply_entry", "stored_form", "timeline_body"]

# The inbox and journal hold one kind and one payload per input: a publish with moves (or with
# the text it came from and who published it) is stored as this kind, its payload
# ``{"journey": ..., "moves": ..., "move_matching": ..., "source": ..., "by": ...}``.
PUBLISH_MOVING = "publish_moving"
_MOVING_KEYS = ("moves", "move_matching")
PUBLISH_EXTRAS = (*_MOVING_KEYS, "source", "by")
"""What a ``publish`` input may carry beside the journey."""


def stored_form(raw: dict[str, Any]) -> tuple[str, Any]:
    """The (kind, payload) an input is kept as: ``{"publish": J, "moves": M}`` →
    ``("publish_moving", {"journey": J, "moves": M, "move_matching": false})``; ``source`` and
    ``by``, when given, are kept beside them."""
    if "publish" in raw and any(k in raw for k in PUBLISH_EXTRAS):
        return PUBLISH_MOVING, {"journey": raw["publish"], "moves": raw.get("moves"),
                                "move_matching": bool(raw.get("move_matching", False)),
                                **{k: raw[k] for k in ("source", "by") if k in raw}}
    ((kind, payload),) = raw.items()
    return kind, payload


def timeline_body(kind: str, payload: Any) -> dict[str, Any]:
    """The timeline entry form of a stored input (the inverse of ``stored_form``)."""
    if kind == PUBLISH_MOVING:
        return {"publish": payload["journey"], "moves": payload.get("moves"),
                "move_matching": bool(payload.get("move_matching", False)),
                **{k: payload[k] for k in ("source", "by") if k in payload}}
    return {kind: payload}


def apply_entry(engine: Engine, entry: TimelineEntry, at: datetime, event_id: str) -> None:
    """Apply one input at ``at``; ``event_id`` names an event that came without an id."""
    kind = entry.kind
    if kind in ("enable", "disable", "pause", "resume"):
        getattr(engine, kind)(getattr(entry, kind), at)
    elif kind == "publish":
        assert entry.publish is not None
        engine.publish(Journey.model_validate(entry.publish), at, entry.moves,
                       entry.move_matching, entry.source, entry.by)
    elif kind == "event":
        body = entry.event
        assert body is not None
        engine.ingest(Event(
            id=body.id or event_id, type=body.type, account=body.account,
            person=body.person, at=parse_instant(body.at) if body.at else at,
            properties=dict(body.properties)), at)
    elif kind == "upsert_account":
        data = entry.upsert_account
        assert data is not None
        builtins: dict[str, Any] = {}
        for name in ("csm", "playbooks"):
            if name in data.model_fields_set:
                builtins[name] = getattr(data, name)
        if data.created_at is not None:
            builtins["created_at"] = parse_instant(data.created_at)
        engine.upsert_account(data.id, at, dict(data.attributes), data.people, **builtins)
    elif kind == "upsert_person":
        person = entry.upsert_person
        assert person is not None
        fields = {name: getattr(person, name) for name in
                  ("account", "email", "attributes", "unsubscribed", "score")
                  if name in person.model_fields_set}
        engine.upsert_person(person.id, at, **fields)
    elif kind == "delete_person":
        assert entry.delete_person is not None
        engine.delete_person(entry.delete_person, at)
    elif kind == "add_to_buying_group":
        member = entry.add_to_buying_group
        assert member is not None
        engine.add_to_buying_group(member.account, member.solution, member.person, member.role,
                                   member.template, at)
