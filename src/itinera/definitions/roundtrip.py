"""Editing a journey, segment or template text in place: the studio's round-trip YAML model.

The text is the source of truth. :func:`apply_edits` loads it with ruamel.yaml's round-trip
reader, applies edit operations by path, and writes it back: comments, key order, quoting and
flow or block style survive wherever nothing was edited, and a text edited by no operation is
returned as it came (byte for byte; ruamel's writer gives the same bytes for every example).

Meaning is the loader's, never ruamel's: the text is read first by
:func:`~itinera.definitions.parse_document` (the same limits, YAML decisions and problems as
``itinera validate``), paths name keys as that reader sees them (``next: 2024`` names the node
``"2024"``), and after editing the new text is read again and must give exactly the data the
edits describe, else nothing is changed. New values are written in block style with the file's
indentation; text the loader would read as something else (``yes``, ``1.0``) is quoted.

:func:`locate` maps a problem's place (``nodes.check.split[0].next``) to its 1-based line and
column in the text.
"""

from __future__ import annotations

import copy
import io
import json
import re
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from itinera.definitions._documents import _NAME_KEYS, _Loader, parse_document
from itinera.errors import DefinitionError, ItineraError, Problem

__all__ = [
    "MAX_EDITS",
    "DeleteEdit",
    "Edit",
    "EditError",
    "InsertEdit",
    "Locator",
    "MoveEdit",
    "RenameNodeEdit",
    "SetEdit",
    "apply_edits",
    "dump_yaml",
    "line_of",
    "locate",
    "node_references",
    "parse_edits",
]

MAX_EDITS = 500  # operations in one request: a studio sends a handful per gesture
PathPart = StrictStr | StrictInt
_STR_TAG = "tag:yaml.org,2002:str"


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SetEdit(_Op):
    """Set the value at ``path`` (a new key of a mapping goes last; an index of a list is
    replaced, or appended when it is the list's length)."""

    op: Literal["set"]
    path: list[PathPart] = Field(min_length=1)
    value: Any = None


class DeleteEdit(_Op):
    """Remove the key or item at ``path``."""

    op: Literal["delete"]
    path: list[PathPart] = Field(min_length=1)


class InsertEdit(_Op):
    """Insert ``value`` into the list at ``path`` before ``index`` (its length: at the end)."""

    op: Literal["insert"]
    path: list[PathPart]
    index: StrictInt
    value: Any = None


class MoveEdit(_Op):
    """Move the item at ``from`` of the list at ``path`` so that it ends up at ``to``."""

    op: Literal["move"]
    path: list[PathPart]
    from_: StrictInt = Field(alias="from")
    to: StrictInt


class RenameNodeEdit(_Op):
    """Rename a journey's node in place and every reference to it (``start``, ``next``,
    ``on_timeout``, a split's ``next``/``else``, an experiment variant's ``next``)."""

    op: Literal["rename_node"]
    from_: StrictStr = Field(alias="from", min_length=1)
    to: StrictStr = Field(min_length=1)


Edit = Annotated[SetEdit | DeleteEdit | InsertEdit | MoveEdit | RenameNodeEdit,
                 Field(discriminator="op")]


class EditError(ItineraError):
    """Edits that cannot be applied; ``problems`` places each at ``edits[i]``. Nothing changed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def parse_edits(raw: Any) -> list[Edit]:
    """Edit operations from JSON data (a list of ``{"op": ...}``); :class:`EditError` else."""
    from pydantic import TypeAdapter, ValidationError

    from itinera.definitions._shape import shape_problems

    if not isinstance(raw, list):
        raise EditError([Problem("edits", "a list of edit operations")])
    if len(raw) > MAX_EDITS:
        raise EditError([Problem("edits", f"at most {MAX_EDITS} edits at once")])
    try:
        return TypeAdapter(list[Edit]).validate_python(raw)
    except ValidationError as error:
        raise EditError(shape_problems(error, raw, "edits")) from None


def _yaml() -> YAML:
    """A round-trip reader/writer set as the examples are written (a new one per use: ruamel's
    objects keep state and are not shared between threads)."""
    handler = YAML(typ="rt")
    handler.preserve_quotes = True
    handler.width = 4096  # never fold a long line the author wrote on one
    handler.indent(mapping=2, sequence=4, offset=2)
    handler.brace_single_entry_mapping_in_flow_sequence = True  # [{a: 1}] stays [{a: 1}]
    return handler


def _tree(text: str, name: str) -> Any:
    try:
        return _yaml().load(text)
    except RuamelError as error:  # the loader read it: a corner ruamel does not follow
        raise DefinitionError([Problem(name, f"cannot be edited in place: {error}")]) from None


def _dump(tree: Any) -> str:
    out = io.StringIO()
    _yaml().dump(tree, out)
    return out.getvalue()


# -- walking the loader's data and ruamel's tree side by side ------------------------------
def _tree_key(tree: Any, data: dict[Any, Any], key: Any) -> Any:
    """The key of ``tree`` (ruamel's) that the loader read as ``key`` of ``data``: keys are in
    the same order in both, but ruamel reads ``1:`` or ``true:`` as a number or a boolean."""
    keys = list(data)
    if key not in data:
        return key
    if isinstance(tree, CommentedMap) and len(tree) == len(keys):
        return list(tree)[keys.index(key)]
    return key


def _step(tree: Any, data: Any, part: PathPart) -> tuple[Any, Any]:
    if isinstance(data, dict) and isinstance(part, str) and part in data:
        return tree[_tree_key(tree, data, part)], data[part]
    if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
        return tree[part], data[part]
    raise LookupError(part)


def _walk(tree: Any, data: Any, path: list[PathPart]) -> tuple[Any, Any]:
    for i, part in enumerate(path):
        try:
            tree, data = _step(tree, data, part)
        except LookupError:
            raise _Refused(f"path {_show(path[:i + 1])}: nothing there") from None
    return tree, data


def _show(path: list[PathPart]) -> str:
    out = ""
    for part in path:
        out = f"{out}[{part}]" if isinstance(part, int) else (f"{out}.{part}" if out else part)
    return out or "(the document)"


class _Refused(Exception):
    """An edit that does not fit the document; its message says why."""


# -- new values in the file's style ------------------------------------------------------------
def _plain_reads_as_text(text: str) -> bool:
    """Whether the loader reads ``text`` written plain as that text (not ``yes`` → True)."""
    tag: str = _Loader.resolve(_Loader, yaml.ScalarNode, text,  # type: ignore[arg-type, no-untyped-call]
                               (True, False))
    return tag == _STR_TAG


_LITERAL_OK = re.compile(r"^(?:[^\S\n]*\S[^\n]*\S|[^\S\n]*\S|)$")  # no trailing blanks per line


def _styled(value: Any, names: bool = False) -> Any:
    """A JSON value as ruamel writes it in block style; text quoted where the loader would
    read it as something else, text of several lines as a literal block (``|``). ``names``:
    the value of a key that names something (``next``), which the loader reads as text."""
    if isinstance(value, dict):
        mapping = CommentedMap()
        for key, item in value.items():
            mapping[str(key)] = _styled(item, str(key) in _NAME_KEYS)
        return mapping
    if isinstance(value, list):
        return CommentedSeq(_styled(item) for item in value)
    if isinstance(value, str):
        if "\n" in value.rstrip("\n") and "\t" not in value and "\r" not in value \
                and all(_LITERAL_OK.match(line) for line in value.split("\n")) \
                and not value.startswith((" ", "\n")):
            return LiteralScalarString(value)
        if not names and not _plain_reads_as_text(value):
            return DoubleQuotedScalarString(value)
    return value


# -- the operations, applied to ruamel's tree and the loader's data alike ---------------------
def _container(tree: Any, data: Any, path: list[PathPart], kind: type) -> tuple[Any, Any]:
    tree, data = _walk(tree, data, path)
    if not isinstance(data, kind):
        what = "a list" if kind is list else "a mapping"
        raise _Refused(f"{_show(path)} is not {what}")
    return tree, data


def _set(tree: Any, data: Any, edit: SetEdit) -> None:
    *parent, last = edit.path
    t, d = _walk(tree, data, parent)
    if isinstance(d, dict) and isinstance(last, str):
        key = _tree_key(t, d, last)
        t[key] = _styled(edit.value, last in _NAME_KEYS)
        d[last] = copy.deepcopy(edit.value)
    elif isinstance(d, list) and isinstance(last, int):
        if not 0 <= last <= len(d):
            raise _Refused(f"{_show(edit.path)}: index out of range (0 to {len(d)})")
        if last == len(d):
            t.append(_styled(edit.value))
            d.append(copy.deepcopy(edit.value))
        else:
            t[last] = _styled(edit.value)
            d[last] = copy.deepcopy(edit.value)
    else:
        raise _Refused(f"{_show(parent)} has no place {last!r}: a mapping takes a key, "
                       "a list an index")


def _delete(tree: Any, data: Any, edit: DeleteEdit) -> None:
    *parent, last = edit.path
    t, d = _walk(tree, data, parent)
    try:
        _step(t, d, last)
    except LookupError:
        raise _Refused(f"{_show(edit.path)}: nothing there") from None
    if isinstance(d, dict):
        del t[_tree_key(t, d, last)]
        del d[last]
    else:
        del t[last]
        del d[last]


def _insert(tree: Any, data: Any, edit: InsertEdit) -> None:
    t, d = _container(tree, data, edit.path, list)
    if not 0 <= edit.index <= len(d):
        raise _Refused(f"{_show(edit.path)}: index {edit.index} out of range (0 to {len(d)})")
    t.insert(edit.index, _styled(edit.value))
    d.insert(edit.index, copy.deepcopy(edit.value))


def _move(tree: Any, data: Any, edit: MoveEdit) -> None:
    t, d = _container(tree, data, edit.path, list)
    for index in (edit.from_, edit.to):
        if not 0 <= index < len(d):
            raise _Refused(f"{_show(edit.path)}: index {index} out of range (0 to {len(d) - 1})")
    comment = t.ca.items.pop(edit.from_, None) if isinstance(t, CommentedSeq) else None
    item = t[edit.from_]
    del t[edit.from_]
    t.insert(edit.to, item)
    if comment is not None:  # the comment on the item's line goes with it
        t.ca.items[edit.to] = comment
    d.insert(edit.to, d.pop(edit.from_))


def node_references(node: Any) -> list[list[PathPart]]:
    """The paths inside a node (raw data) whose value names another node, whatever its kind
    (a ``next`` left on a split is renamed too: it still names the node)."""
    if not isinstance(node, dict):
        return []
    found: list[list[PathPart]] = [[key] for key in ("next", "on_timeout")
                                   if isinstance(node.get(key), str)]
    for kind in ("split", "split_people"):
        branches = node.get(kind)
        for i, branch in enumerate(branches if isinstance(branches, list) else []):
            if isinstance(branch, dict):
                found += [[kind, i, key] for key in ("next", "else")
                          if isinstance(branch.get(key), str)]
    experiment = node.get("experiment")
    variants = experiment.get("variants") if isinstance(experiment, dict) else None
    for i, variant in enumerate(variants if isinstance(variants, list) else []):
        if isinstance(variant, dict) and isinstance(variant.get("next"), str):
            found.append(["experiment", "variants", i, "next"])
    return found


def _rename(tree: Any, data: Any, edit: RenameNodeEdit) -> None:
    old, new = edit.from_, edit.to
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if not isinstance(nodes, dict):
        raise _Refused("rename_node: the document has no nodes")
    if old not in nodes:
        raise _Refused(f"rename_node: no node {old!r}")
    if new in nodes:
        raise _Refused(f"rename_node: a node {new!r} exists already")
    t_nodes = tree[_tree_key(tree, data, "nodes")]
    references: list[list[PathPart]] = [["start"]] if data.get("start") == old else []
    for name, node in nodes.items():
        references += [["nodes", name, *path] for path in node_references(node)
                       if _walk(tree, data, ["nodes", name, *path])[1] == old]
    for path in references:  # values first: the node's own path changes with its key
        _set(tree, data, SetEdit(op="set", path=path, value=new))
    position = list(nodes).index(old)
    t_key = _tree_key(t_nodes, nodes, old)
    comment = t_nodes.ca.items.pop(t_key, None)
    value = t_nodes[t_key]
    del t_nodes[t_key]
    t_nodes.insert(position, new, value)
    if comment is not None:
        t_nodes.ca.items[new] = comment
    renamed = {new if k == old else k: v for k, v in nodes.items()}
    nodes.clear()
    nodes.update(renamed)


_APPLY = {"set": _set, "delete": _delete, "insert": _insert, "move": _move,
          "rename_node": _rename}


def apply_edits(text: str, edits: list[Edit], name: str = "draft") -> str:
    """``text`` with every edit applied in order, or :class:`EditError` (nothing applied).

    The text must read (:class:`~itinera.errors.DefinitionError` with the loader's problems
    otherwise): edits go by the loader's reading of it."""
    if not edits:
        return text
    data = parse_document(text, name)
    tree = _tree(text, name)
    for i, edit in enumerate(edits):
        try:
            _APPLY[edit.op](tree, data, edit)  # type: ignore[operator]
        except _Refused as refused:
            raise EditError([Problem(f"edits[{i}]", str(refused))]) from None
    out = _dump(tree)
    try:
        reread = parse_document(out, name)
    except DefinitionError as error:
        raise EditError([Problem("edits", f"the edited text does not read back: {error}")]) \
            from None
    if json.dumps(reread, default=str) != json.dumps(data, default=str):
        raise EditError([Problem("edits", "the edited text would not read back as edited "
                                          "(a value YAML cannot hold as given?)")])
    return out


# -- places to lines -----------------------------------------------------------------------------
def _parts(place: str) -> list[str | int] | None:
    """``nodes.a.split[0].next`` → the place's parts, keys left joined by dots where a key holds
    a dot (``account.health``): resolved against the document's keys by :func:`locate`."""
    parts: list[str | int] = []
    for piece in re.finditer(r"\[(\d+)\]|([^.\[\]]+)", place):
        parts.append(int(piece[1]) if piece[1] is not None else piece[2])
    return parts


def locate(text: str, place: str) -> tuple[int, int] | None:
    """The 1-based (line, column) in ``text`` of ``place``: of the key a mapping's value is at,
    of the item of a list; the deepest part found when the rest is not in the text (a missing
    key: where it belongs); None when the text does not read."""
    return Locator(text).find(place)


class Locator:
    """:func:`locate` for many places of one text, reading it once.

    Places are found in PyYAML's node graph (libyaml's composer when present: a fraction of a
    second for a large file, where the round-trip reader takes many), keys as the loader reads
    them: a scalar key is the text written. A text the loader refuses locates nothing."""

    def __init__(self, text: str, *, read: bool = False) -> None:
        """``read``: the loader has read ``text`` already (its limits hold)."""
        self._root: yaml.Node | None = None
        try:
            if not read:
                parse_document(text, "text")  # the loader's limits and refusals first
        except DefinitionError:
            return
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            self._root = yaml.compose(text, Loader=loader)
        except yaml.YAMLError:  # the loader read it: never expected
            self._root = None

    def find(self, place: str) -> tuple[int, int] | None:
        if self._root is None:
            return None
        return _locate(self._root, place)


def dump_yaml(data: Any) -> str:
    """Plain data (a stored definition) as YAML text in the examples' style: block style,
    2-space indentation, text quoted only where the loader would read it as something else."""
    if data is None or data == {}:
        return ""
    return _dump(_styled(data))


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _locate(node: yaml.Node, place: str) -> tuple[int, int] | None:
    parts = _parts(place) or []
    found = _mark(node)
    i = 0
    while i < len(parts):
        part = parts[i]
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and 0 <= part < len(node.value):
            node = node.value[part]
            found = _mark(node)
            i += 1
            continue
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            keys = {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
            # The longest key that the next parts spell (a key may hold dots: account.plan).
            for j in range(len(parts), i, -1):
                if all(isinstance(p, str) for p in parts[i:j]):
                    key = ".".join(str(p) for p in parts[i:j])
                    if key in keys:
                        found = _mark(keys[key][0])
                        node, i = keys[key][1], j
                        break
            else:
                break
            continue
        break
    return found


def line_of(place: str, name: str) -> int | None:
    """The line a syntax problem's place names (``<name>:<line>``), else None."""
    if place.startswith(f"{name}:") and place[len(name) + 1:].isdigit():
        return int(place[len(name) + 1:])
    return None
