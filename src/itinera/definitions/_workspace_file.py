"""A scenario's ``workspace: FILE``: the workspace file production applies, read into the
scenario so that what is tested is what runs (no copied segments or templates).

Merge rule (docs/semantics.md, "A scenario's workspace file"): the workspace file comes first —
its items keep their order, so its first role template stays the default — and the scenario's
``data`` may only **add** to it: new CSMs, segments, templates, role templates, playbooks,
campaigns, scoring rules, caps and quiet hours. An item whose id (or key) the workspace file
defines is refused with its place unless it is identical, because a scenario that changed the
workspace would test something that does not run. The file must be valid on its own (as
``itinera workspace apply`` would take it); its problems are placed under its name as written
(``workspace.yaml: segments[0].when``), and so are the merged data's problems that lie in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from itinera.definitions._documents import read_document
from itinera.definitions._references import Known
from itinera.definitions._scenario import check_workspace
from itinera.definitions._shape import describe, plain, shape_problems
from itinera.definitions.scenario import WorkspaceData
from itinera.errors import DefinitionError, Problem

__all__ = ["Merged", "check_workspace_document", "with_workspace_file"]

_BY_ID = {"csms": "CSM", "role_templates": "role template", "segments": "segment",
          "templates": "template"}
_NAMES = ("playbooks", "campaigns")
_KEYED = {"scoring": "scoring rule for", "frequency_caps": "frequency cap for",
          "quiet_hours": "quiet hours for", "tracking": "tracking of"}
_ITEM_PLACE = re.compile(r"^data\.(csms|role_templates|segments|templates)\[(\d+)\](.*)$")
_TOP_PLACE = re.compile(r"^data\.([^.\[]+)(.*)$")


def check_workspace_document(raw: Any, prefix: str = "") -> tuple[WorkspaceData | None, list[Problem]]:
    """A workspace mapping checked as ``itinera workspace apply`` checks it: shape, duplicates,
    templates, segments. Places start with ``prefix``."""
    raw = plain(raw)
    if not isinstance(raw, dict):
        return None, [Problem(prefix, f"a workspace is a mapping of keys, got {describe(raw)}")]
    problems: list[Problem] = []
    workspace: WorkspaceData | None = None
    try:
        workspace = WorkspaceData.model_validate(raw)
    except ValidationError as error:
        problems += shape_problems(error, raw, prefix)
    check_workspace(raw, prefix, Known.from_raw(raw), problems)  # every problem at once
    return (None if problems else workspace), problems


@dataclass
class Merged:
    """Where the merged data came from, to place its problems in the file they belong to."""

    file: str | None = None
    offsets: dict[str, int] = field(default_factory=dict)  # list key -> items of the file
    kept: dict[str, list[int]] = field(default_factory=dict)  # list key -> the scenario's indices
    keys: dict[str, set[str]] = field(default_factory=dict)  # mapping key -> keys of the file
    only_file: set[str] = field(default_factory=set)  # keys the scenario's data does not have

    def relocate(self, problem: Problem) -> Problem:
        """``data.segments[3].when`` -> ``workspace.yaml: segments[3].when`` when the item is
        the file's, ``data.segments[0].when`` when it is the scenario's first own segment."""
        if self.file is None:
            return problem
        if (match := _ITEM_PLACE.match(problem.place)) and match.group(1) in self.offsets:
            key, index, rest = match.group(1), int(match.group(2)), match.group(3)
            offset, kept = self.offsets[key], self.kept.get(key, [])
            if index < offset:
                return Problem(f"{self.file}: {key}[{index}]{rest}", problem.message)
            if index - offset < len(kept):
                return Problem(f"data.{key}[{kept[index - offset]}]{rest}", problem.message)
        for key, names in self.keys.items():  # names may hold dots: scoring's email.clicked
            for name in names:
                place = f"data.{key}.{name}"
                if problem.place == place or problem.place.startswith((f"{place}.", f"{place}[")):
                    return Problem(f"{self.file}: {problem.place[len('data.'):]}",
                                   problem.message)
        if (match := _TOP_PLACE.match(problem.place)) and match.group(1) in self.only_file:
            return Problem(f"{self.file}: {match.group(1)}{match.group(2)}", problem.message)
        return problem


def with_workspace_file(raw: dict[str, Any], base_dir: Path,
                        out: list[Problem]) -> tuple[dict[str, Any], Merged]:
    """``raw`` with its ``data`` put after the workspace file's items (when it names one)."""
    name = raw.get("workspace")
    if name is None:
        return raw, Merged()
    if not isinstance(name, str) or not name.strip():
        out.append(Problem("workspace", f"expected the path of a workspace file (relative to the "
                                        f"scenario's folder), got {describe(name)}"))
        return raw, Merged()
    try:
        document = plain(read_document(base_dir / name))
    except DefinitionError as error:
        out.extend(Problem("workspace", str(p)) for p in error.problems)
        return raw, Merged()
    _, problems = check_workspace_document(document)
    out.extend(Problem(f"{name}: {p.place}" if p.place else name, p.message) for p in problems)
    data = raw.get("data", {})
    if not isinstance(document, dict) or not isinstance(data, dict):
        return raw, Merged()  # reported: by the workspace check, or by the scenario's shape check
    merged_data, merged = _merge(document, data, name, out)
    return {**raw, "data": merged_data}, merged


def _merge(workspace: dict[str, Any], data: dict[str, Any], name: str,
           out: list[Problem]) -> tuple[dict[str, Any], Merged]:
    merged = Merged(file=name, only_file={k for k in workspace if k not in data})
    result = {k: v for k, v in data.items() if k not in workspace}
    for key, value in workspace.items():
        own = data.get(key, value if key not in _BY_ID else [])
        if key in _BY_ID and isinstance(value, list) and isinstance(own, list):
            kept = _additions(value, own, key, name, out)
            merged.offsets[key], merged.kept[key] = len(value), kept
            result[key] = value + [own[i] for i in kept]
        elif key in _KEYED and isinstance(value, dict) and isinstance(own, dict):
            merged.keys[key] = {k for k in value if isinstance(k, str)}
            for item, setting in own.items():
                if item in value and value[item] != setting:
                    out.append(Problem(f"data.{key}.{item}", f"the {_KEYED[key]} {item!r} is set by "
                                       f"{name}; a scenario adds to its workspace file, it does "
                                       f"not change it"))
            result[key] = {**value, **{k: v for k, v in own.items() if k not in value}}
        elif key in _NAMES and isinstance(value, list) and isinstance(own, list):
            result[key] = list(dict.fromkeys([*value, *own]))
        else:  # a malformed value on either side: the shape checks report it
            result[key] = own
            if own != value and key in data and isinstance(value, type(own)):
                out.append(Problem(f"data.{key}", f"{name} sets {key!r}; a scenario adds to its "
                                                  f"workspace file, it does not change it"))
    return result, merged


def _additions(theirs: list[Any], own: list[Any], key: str, name: str,
               out: list[Problem]) -> list[int]:
    """The indices of the scenario's items of ``key`` that the workspace file does not define;
    an item with an id it defines must be identical (and is then not repeated)."""
    defined = {item["id"]: item for item in theirs if isinstance(item, dict) and "id" in item}
    added: list[int] = []
    for i, item in enumerate(own):
        ident = item.get("id") if isinstance(item, dict) else None
        if isinstance(ident, str) and ident in defined:
            if item != defined[ident]:
                out.append(Problem(f"data.{key}[{i}]", f"{_BY_ID[key]} {ident!r} is defined by "
                                   f"{name}; a scenario adds to its workspace file, it does not "
                                   f"change it"))
            continue
        added.append(i)
    return added
