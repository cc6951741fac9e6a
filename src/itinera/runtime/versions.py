"""A journey's published versions compared, and an earlier one published again (rollback).

A diff names the nodes added, removed and changed (ids, sorted), the journey-level rules that
changed (``entry``, ``goal``, ``exit``, ``start``, ``name``, ``description``) with both sides,
and a unified diff of the two texts: the text each was published from when stored, else its
definition written as YAML (``definitions.roundtrip.dump_yaml``).
"""

from __future__ import annotations

import difflib
from typing import Any

from itinera.definitions.roundtrip import dump_yaml

__all__ = ["RULES", "diff", "rollback_entry", "text_of"]

RULES = ("name", "description", "entry", "goal", "exit", "start")
MAX_DIFF_LINES = 20_000  # a unified diff of two 2 MiB texts stays an answer, not a download


def text_of(version: dict[str, Any]) -> str:
    """The text a version was published from, or its definition as YAML."""
    source = version.get("source")
    return source if isinstance(source, str) else dump_yaml(version["definition"])


def diff(journey_id: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` and ``new`` as ``storage.drafts.journey_version`` gives them."""
    before, after = old["definition"], new["definition"]
    old_nodes, new_nodes = before.get("nodes") or {}, after.get("nodes") or {}
    lines = list(difflib.unified_diff(
        text_of(old).splitlines(keepends=True), text_of(new).splitlines(keepends=True),
        fromfile=f"{journey_id} v{old['version']}", tofile=f"{journey_id} v{new['version']}"))
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... ({len(lines) - MAX_DIFF_LINES} more lines)\n"]
    return {
        "journey": journey_id,
        "from": old["version"],
        "to": new["version"],
        "nodes": {  # sorted: PostgreSQL's JSONB keeps no key order
            "added": sorted(n for n in new_nodes if n not in old_nodes),
            "removed": sorted(n for n in old_nodes if n not in new_nodes),
            "changed": sorted(n for n in new_nodes
                              if n in old_nodes and new_nodes[n] != old_nodes[n]),
        },
        "rules": {key: {"from": before.get(key), "to": after.get(key)} for key in RULES
                  if before.get(key) != after.get(key)},
        "yaml": "".join(line if line.endswith("\n") else f"{line}\n" for line in lines),
    }


def rollback_entry(version: dict[str, Any], by: str) -> dict[str, Any]:
    """The input that publishes ``version`` again as the next one, with its text."""
    definition = {k: v for k, v in version["definition"].items() if k != "version"}
    entry: dict[str, Any] = {"publish": definition, "by": by}
    if isinstance(version.get("source"), str):
        entry["source"] = version["source"]
    return entry
