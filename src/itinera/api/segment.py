"""Segment messages as Itinera inputs (docs/reference/segment-api.md).

- ``identify`` → ``upsert_person``: the traits map to the person's fields (``email``,
  ``first_name`` ... ``api.segment_traits``), the others merge into the attributes under their
  own names; ``context.groupId`` links the person to that account.
- ``group`` → one ``upsert_account``: the traits map to the account's fields (``created_at``,
  ``csm`` ...) and attributes, and, with a ``userId``, the person (``people``) is linked to
  it in the same step.
- ``track`` → an event: ``id`` = ``messageId``, ``type`` = ``event``, ``person`` = ``userId``,
  ``at`` = ``timestamp`` (else the arrival time), ``properties`` as given. With
  ``context.groupId`` and a person not known (yet), the event also names the account, so it
  counts for the account at once.
- ``page`` / ``screen`` / ``alias`` → events of those types (a page's ``name`` and ``category``
  and an alias's ``previousId`` go into the properties, unless the properties have them).

Decisions where the spec is silent: a message with only an ``anonymousId`` maps when it names
an account on its own (a ``group``, which then upserts only the account; a ``track``, ``page``
or ``screen`` with ``context.groupId``, an account event); otherwise it is kept as rejected, as
Itinera acts on known people and accounts. Batch-level ``context`` is the default of each
message's. The idempotency key of an input is ``segment:<messageId>``; an event's is its id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from itinera.api.segment_traits import TraitError, account_fields, person_fields
from itinera.definitions._shape import shape_problems
from itinera.definitions.scenario import TimelineEntry
from itinera.timeutil import format_instant, parse_instant

__all__ = ["MESSAGE_TYPES", "Mapped", "map_messages"]

MESSAGE_TYPES = ("identify", "group", "track", "page", "screen", "alias")


@dataclass
class Mapped:
    """Inputs to submit (with their keys) and the messages kept as rejected, with reasons."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)
    rejected: list[tuple[str, Any]] = field(default_factory=list)


class _Unmappable(Exception):
    pass


def _id(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Unmappable(f"{name} must be a string, got {type(value).__name__}")
    return str(value)


def _object(message: dict[str, Any], name: str) -> dict[str, Any]:
    value = message.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Unmappable(f"{name} must be an object")
    return value


def _instant(message: dict[str, Any]) -> str | None:
    value = message.get("timestamp")
    if value is None:
        return None
    try:
        return format_instant(parse_instant(value))
    except ValueError:
        raise _Unmappable(f"timestamp: malformed {value!r} (ISO-8601 expected)") from None


def _map(message: dict[str, Any], kind: str, known: Callable[[str], bool],
         identified: set[str], csm: Callable[[str], str | None],
         ) -> list[tuple[dict[str, Any], str | None]]:
    if kind not in MESSAGE_TYPES:
        raise _Unmappable(f"unknown message type {kind!r} (known: {', '.join(MESSAGE_TYPES)})")
    message_id = _id(message.get("messageId"), "messageId")
    user = _id(message.get("userId"), "userId")
    anonymous = _id(message.get("anonymousId"), "anonymousId")
    if user is None and anonymous is None:
        raise _Unmappable("no userId or anonymousId")
    group = _id(_object(message, "context").get("groupId"), "context.groupId")
    at = _instant(message)
    key = f"segment:{message_id}" if message_id else None
    if kind == "identify":
        if user is None:
            raise _Unmappable("an identify without userId: Itinera keeps known people only")
        person: dict[str, Any] = {"id": user, **person_fields(_object(message, "traits"))}
        if group is not None:
            person["account"] = group
        return [({"upsert_person": person}, key)]
    if kind == "group":
        account = _id(message.get("groupId"), "groupId")
        if account is None:
            raise _Unmappable("a group without groupId")
        # One input: the account and its person apply in one step, so the segments the
        # account enters and the journeys it enrolls in see the person (who gets the emails).
        upsert = {"id": account, **account_fields(_object(message, "traits"), csm)}
        if user is not None:
            upsert["people"] = [user]
        return [({"upsert_account": upsert}, key)]
    properties = dict(_object(message, "properties"))
    if kind == "track":
        name = message.get("event")
        if not isinstance(name, str) or not name:
            raise _Unmappable("a track without event (its name)")
    elif kind == "alias":
        if user is None:
            raise _Unmappable("an alias without userId")
        name = "alias"
        properties.setdefault("previousId", message.get("previousId"))
    else:
        name = kind
        for extra in ("name", "category"):
            if message.get(extra) is not None:
                properties.setdefault(extra, message[extra])
    event: dict[str, Any] = {"type": name, "properties": properties}
    if message_id:
        event["id"] = message_id
    if at is not None:
        event["at"] = at
    if user is not None:
        event["person"] = user
        if group is not None and user not in identified and not known(user):
            event["account"] = group
    elif group is not None:
        event["account"] = group
    else:
        raise _Unmappable(f"an anonymous {kind} without context.groupId: Itinera acts on known "
                          "people and accounts")
    return [({"event": event}, None)]


def map_messages(messages: list[Any], kind: str | None, known: Callable[[str], bool],
                 defaults: dict[str, Any] | None = None,
                 csm: Callable[[str], str | None] = lambda _: None) -> Mapped:
    """Map messages in order; ``kind`` is the endpoint's type (None: each message's ``type``),
    ``known(person)`` whether a person exists already, ``defaults`` the batch's context,
    ``csm(id or email)`` the id of that CSM of the workspace (None: no such CSM)."""
    mapped, identified = Mapped(), set[str]()
    for message in messages:
        try:
            if not isinstance(message, dict):
                raise _Unmappable("a message is a JSON object")
            if defaults and isinstance(message.get("context", {}), dict):
                message = {**message, "context": {**defaults, **message.get("context", {})}}
            inputs = _map(message, kind or str(message.get("type")), known, identified, csm)
            for entry, _ in inputs:
                try:
                    TimelineEntry.model_validate(entry)
                except ValidationError as error:
                    raise _Unmappable("; ".join(
                        str(p) for p in shape_problems(error, entry, ""))) from None
        except (_Unmappable, TraitError) as reason:
            mapped.rejected.append((str(reason), message))
            continue
        for entry, key in inputs:
            mapped.entries.append(entry)
            mapped.keys.append(key)
            if "upsert_person" in entry:
                identified.add(entry["upsert_person"]["id"])
            elif "upsert_account" in entry:
                identified.update(entry["upsert_account"].get("people", []))
    return mapped
