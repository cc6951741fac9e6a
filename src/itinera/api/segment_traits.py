"""Segment's reserved traits as Itinera's fields (docs/reference/segment-api.md).

Segment names traits in camelCase (``firstName``, ``createdAt``, ``address.postalCode``);
Itinera's conditions and templates read snake_case attributes (``person.first_name``). A
reserved trait goes to its field; any other trait is kept as an attribute under its own name.

- ``identify``: ``email`` is the person's email; ``firstName`` / ``lastName`` / ``name`` become
  ``first_name`` / ``last_name`` / ``name`` (a ``name`` alone is split at its first space into
  the other two, and ``firstName`` + ``lastName`` alone make ``name``, as Segment does);
  ``createdAt`` becomes ``created_at`` (ISO-8601, normalised to UTC); ``address`` keeps its
  parts in snake_case (``postal_code``); the other reserved traits (``title``, ``phone``,
  ``username``, ``website``, ``age``, ``birthday``, ``gender``, ``avatar``, ``description``,
  ``company``) keep their names.
- ``group``: ``createdAt`` is the account's ``created_at``; ``csm`` (a CSM's id or email, as the
  workspace's ``csms`` list them; null clears it) is the account's CSM; ``address`` as above;
  the other reserved traits (``name``, ``employees``, ``industry``, ``plan``, ``website``,
  ``email``, ``phone``, ``avatar``, ``description``) keep their names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from itinera.timeutil import format_instant, parse_instant

__all__ = ["TraitError", "account_fields", "person_fields"]

_RENAMED = {"firstName": "first_name", "lastName": "last_name", "createdAt": "created_at"}
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


class TraitError(ValueError):
    """A reserved trait whose value Itinera cannot take (the message is kept as rejected)."""


def _snake(name: str) -> str:
    return _CAMEL.sub(r"_\1", name).lower()


def _address(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {_snake(k): v for k, v in value.items()}


def _instant(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return format_instant(parse_instant(value))
    except ValueError:
        raise TraitError(f"traits.createdAt: malformed {value!r} (ISO-8601 expected)") from None


def person_fields(traits: dict[str, Any]) -> dict[str, Any]:
    """An identify's traits as the fields of ``upsert_person``: ``email`` when given, and
    ``attributes``."""
    attributes: dict[str, Any] = {}
    fields: dict[str, Any] = {"attributes": attributes}
    for name, value in traits.items():
        if name == "email" and isinstance(value, str):
            fields["email"] = value
        elif name == "createdAt":
            attributes["created_at"] = _instant(value)
        elif name == "address":
            attributes["address"] = _address(value)
        else:
            attributes[_RENAMED.get(name, name)] = value
    first, last, full = (attributes.get(k) for k in ("first_name", "last_name", "name"))
    if isinstance(full, str) and full.strip() and first is None and last is None:
        parts = full.strip().split(None, 1)
        attributes["first_name"] = parts[0]
        if len(parts) > 1:
            attributes["last_name"] = parts[1]
    elif "name" not in attributes and (isinstance(first, str) or isinstance(last, str)):
        attributes["name"] = " ".join(p for p in (first, last) if isinstance(p, str) and p)
    return fields


def account_fields(traits: dict[str, Any],
                   csm: Callable[[str], str | None]) -> dict[str, Any]:
    """A group's traits as the fields of ``upsert_account``: ``attributes``, and
    ``created_at`` and ``csm`` when given. ``csm(value)``: the id of the workspace's CSM with
    that id or email, or None."""
    attributes: dict[str, Any] = {}
    fields: dict[str, Any] = {"attributes": attributes}
    for name, value in traits.items():
        if name == "createdAt":
            if value is not None:
                fields["created_at"] = _instant(value)
        elif name == "csm":
            if value is None:
                fields["csm"] = None
            elif not isinstance(value, str) or (found := csm(value)) is None:
                raise TraitError(f"traits.csm: no CSM {value!r} (the id or email of one of the "
                                 "workspace's csms)")
            else:
                fields["csm"] = found
        elif name == "address":
            attributes["address"] = _address(value)
        else:
            attributes[name] = value
    return fields
