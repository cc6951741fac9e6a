"""The approval workflow's pure parts: the workspace setting, what content is reviewed and its
hash, and the review state of a content given its reviews.

Approval is tied to a sha256 of the content, so any change needs a new approval: a template's
content is its subject, preheader, text and html (not its id, not the file's ``approved``); a
journey's is its definition without ``version`` (which the store assigns).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["KINDS", "ApprovalSettings", "ReviewState", "content_hash", "content_of",
           "review_state", "template_refs"]

KINDS = ("template", "journey")
ReviewState = Literal["approved", "pending", "rejected", "draft", "not_required"]
_TEMPLATE_FIELDS = ("subject", "preheader", "text", "html")


@dataclass(frozen=True)
class ApprovalSettings:
    """``approval:`` in the workspace file: which kinds of content need an approved review,
    and whether the approver must be someone other than the submitter (``four_eyes``)."""

    templates: bool = False
    journeys: bool = False
    four_eyes: bool = False

    def required(self, kind: str) -> bool:
        return self.templates if kind == "template" else self.journeys if kind == "journey" \
            else False

    @classmethod
    def from_body(cls, body: Mapping[str, Any] | None) -> ApprovalSettings:
        body = body or {}
        return cls(bool(body.get("templates")), bool(body.get("journeys")),
                   bool(body.get("four_eyes")))


def content_of(kind: str, document: Mapping[str, Any]) -> dict[str, Any]:
    """What of ``document`` (a template entry, a journey definition) is reviewed."""
    if kind == "template":
        return {k: document.get(k) or ("" if k in ("subject", "text") else None)
                for k in _TEMPLATE_FIELDS}
    return {k: v for k, v in document.items() if k != "version"}


def content_hash(kind: str, document: Mapping[str, Any]) -> str:
    """The sha256 of the reviewed content, over its canonical JSON (sorted keys)."""
    text = json.dumps(content_of(kind, document), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str)
    return hashlib.sha256(f"{kind}\n{text}".encode()).hexdigest()


def review_state(required: bool, states: Iterable[str]) -> ReviewState:
    """The state of one content from the states of its reviews, oldest first: approved once
    any approved it; else pending while one waits; else rejected when the last decision
    rejected it; else draft (never submitted, or changed since)."""
    if not required:
        return "not_required"
    seen = list(states)
    if "approved" in seen:
        return "approved"
    if "pending" in seen:
        return "pending"
    decided = [s for s in seen if s in ("approved", "rejected")]
    return "rejected" if decided else "draft"


def template_refs(value: Any, place: str) -> Iterator[tuple[str, str]]:
    """(place, template id) of every ``send_email`` inside ``value`` (a raw journey's nodes),
    places written as validation writes them (``nodes.send.do[0].send_email.template``)."""
    def join(at: str, key: str | int) -> str:
        return f"{at}[{key}]" if isinstance(key, int) else f"{at}.{key}" if at else key

    if isinstance(value, Mapping):
        email = value.get("send_email")
        if isinstance(email, Mapping) and isinstance(email.get("template"), str):
            yield join(join(place, "send_email"), "template"), email["template"]
        for key, item in value.items():
            yield from template_refs(item, join(place, str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from template_refs(item, join(place, i))
