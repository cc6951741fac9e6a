"""The approval workflow's pure parts: the state of a content from its reviews, and a content
hash that changes with what is reviewed and only with it."""

from __future__ import annotations

from itinera.domain.approval import ApprovalSettings, content_hash, review_state


def test_the_state_of_a_content_from_its_reviews() -> None:
    assert review_state(False, ["approved"]) == "not_required"
    assert review_state(True, []) == "draft"
    assert review_state(True, ["superseded"]) == "draft"
    assert review_state(True, ["pending"]) == "pending"
    assert review_state(True, ["rejected"]) == "rejected"
    assert review_state(True, ["rejected", "pending"]) == "pending"
    assert review_state(True, ["rejected", "approved"]) == "approved"


def test_the_hash_follows_the_reviewed_content_only() -> None:
    template = {"id": "hello", "subject": "Hi", "text": "Hello", "approved": True}
    same = {"subject": "Hi", "text": "Hello", "html": None, "preheader": "", "approved": False}
    assert content_hash("template", template) == content_hash("template", same)
    assert content_hash("template", template) != content_hash("template", {**template, "text": "Yo"})
    journey = {"id": "j", "start": "a", "nodes": {"a": {"end": True}}}
    assert content_hash("journey", journey) == content_hash("journey", {**journey, "version": 3})
    assert content_hash("journey", journey) != content_hash("template", journey)


def test_the_setting_says_what_needs_review() -> None:
    chosen = ApprovalSettings.from_body({"templates": True})
    assert (chosen.required("template"), chosen.required("journey"), chosen.four_eyes) == (
        True, False, False)
    assert not ApprovalSettings.from_body(None).required("template")
