"""Read a YAML or JSON document as plain data, within limits, with the place of every problem.

Kept apart from ``loader`` so the validators can read ``journey_files`` without importing the
loader, which imports them.

A document is refused before it is built when it is larger than :data:`MAX_BYTES`, nested
deeper than :data:`MAX_DEPTH`, or would hold more than :data:`MAX_NODES` values once every
alias is expanded (a "billion laughs" file is a few hundred bytes that expand to gigabytes).
PyYAML composes a node graph before constructing Python objects, so depth and size are counted
while composing, where an alias costs what its anchor holds. Numbers must be finite and fit in
64 bits (``.nan``, ``.inf``, ``1e400`` and 30-digit integers are refused at their line).

Names stay the text written: every plain mapping key, and the value of ``next``, ``else``,
``start``, ``on_timeout``, ``id`` and ``name``, is a string even where YAML 1.1 reads a
boolean or a number (a node called ``yes`` or ``off``, ``next: 2024``). JSON keys are strings
already.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from itinera.errors import DefinitionError, Problem

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "parse_document", "read_document"]

MAX_BYTES = 2 * 1024 * 1024  # a journey is a few kB; a scenario's world a few hundred
MAX_DEPTH = 64  # mappings and lists inside each other (a deep condition is about 10)
MAX_NODES = 100_000  # values (mappings, lists, scalars), aliases expanded: ~15,000 accounts
_INT64 = 2**63

_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_FLOAT = "tag:yaml.org,2002:float"
_INT = "tag:yaml.org,2002:int"
_NULL = "tag:yaml.org,2002:null"
_AS_TEXT = frozenset({"tag:yaml.org,2002:bool", _INT, _FLOAT})
# Keys whose value names a node, a journey or a variant: kept as the text written.
_NAME_KEYS = frozenset({"next", "else", "start", "on_timeout", "id", "name"})
# YAML 1.2 reads 1e5 and 2.5E-3 as numbers; PyYAML (1.1) wants a dot and a signed exponent.
_EXPONENT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$")


class _LimitError(yaml.MarkedYAMLError):
    """A limit or a number refused while reading, at its mark."""


def _short(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:20]}...{text[-10:]} ({len(text)} characters)"


class _Loader(yaml.SafeLoader):
    """SafeLoader that counts and bounds what it composes, keeps names and timestamps as text,
    and refuses duplicate keys and numbers out of range.

    Instants are strings in the models, as in JSON; PyYAML would turn ``2026-01-05T09:00:00Z``
    into a datetime. A key written twice would silently keep the last value (a node defined
    twice loses the first), so duplicates are collected and reported with their lines.
    """

    duplicates: list[Problem]

    def __init__(self, text: str, name: str) -> None:
        super().__init__(text)
        self.name = name
        self.duplicates = []
        self._depth = 0
        self._count = 0  # values composed so far, an alias counting what its anchor holds
        self._weights: dict[int, int] = {}  # id(node) -> values it holds, once composed
        self._as_text = False
        self._is_key = False

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            target = self.anchors.get(event.anchor)
            if target is not None:
                weight = self._weights.get(id(target))
                if weight is None:
                    raise _LimitError(None, None, f"alias *{event.anchor} is inside its own "
                                                  "anchor (a structure that never ends)",
                                      event.start_mark)
                self._add(weight, event.start_mark)
            return self._composed(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _LimitError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                              self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        # A plain key is text (as in JSON); so is the value of a key that names something.
        self._is_key = isinstance(parent, MappingNode) and index is None
        self._as_text = self._is_key or (isinstance(index, ScalarNode)
                                         and index.value in _NAME_KEYS)
        before = self._count
        try:
            node = self._composed(parent, index)
        finally:
            self._depth -= 1
        self._add(1, node.start_mark)
        self._weights[id(node)] = self._count - before
        return node

    def _composed(self, parent: Node | None, index: Any) -> Node:
        node = super().compose_node(parent, index)
        assert node is not None  # None only at the end of the stream, never inside a document
        return node

    def _add(self, weight: int, mark: Any) -> None:
        self._count += weight
        if self._count > MAX_NODES:
            raise _LimitError(None, None, f"more than {MAX_NODES:,} values (aliases expanded)",
                              mark)

    def compose_scalar_node(self, anchor: Any) -> ScalarNode:  # the stubs say dict: a str
        plain = self.peek_event().implicit[0]  # type: ignore[no-untyped-call]
        node: ScalarNode = super().compose_scalar_node(anchor)
        if self._as_text and plain and (node.tag in _AS_TEXT or (
                self._is_key and node.tag == _NULL and node.value)):
            node.tag = _STR  # a null key written as `~` or `null` is that text; an empty one not
        self._as_text = self._is_key = False
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key; construct_mapping reports it below
                continue
            if duplicate:
                line = key_node.start_mark.line + 1
                self.duplicates.append(Problem(f"{self.name}:{line}", f"duplicate key {key!r}"))
        return super().construct_mapping(node, deep=deep)


def _construct_int(loader: _Loader, node: ScalarNode) -> int:
    try:
        value = loader.construct_yaml_int(node)
    except ValueError:  # more digits than Python converts
        value = _INT64
    if not -_INT64 <= value < _INT64:
        raise _LimitError(None, None, f"number out of range (64 bits): {_short(node.value)}",
                          node.start_mark)
    return value


def _construct_float(loader: _Loader, node: ScalarNode) -> float:
    value: float = loader.construct_yaml_float(node)
    if not math.isfinite(value):
        raise _LimitError(None, None, _not_finite(node.value), node.start_mark)
    return value


def _not_finite(text: str) -> str:
    if text.lower().lstrip("+-") in (".inf", ".nan", "nan", "infinity"):
        return f"not a finite number: {text} (quote it if it is text)"
    return f"number out of range: {_short(text)}"


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_FLOAT, _EXPONENT, list("-+.0123456789"))
_Loader.add_constructor(_INT, _construct_int)
_Loader.add_constructor(_FLOAT, _construct_float)


def _parse_yaml(text: str, name: str) -> Any:
    loader: _Loader | None = None
    try:
        loader = _Loader(text, name)  # checks the characters first
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = error.problem or error.context or "invalid YAML"
        if error.problem and error.context:
            problem = f"{problem} ({error.context})"
        raise DefinitionError([Problem(f"{name}{line}", problem)]) from None
    except yaml.reader.ReaderError as error:  # a control character, at its position
        at = text.count("\n", 0, error.position) + 1
        bad = f"character #x{error.character:04x} is not allowed in YAML; remove it"
        raise DefinitionError([Problem(f"{name}:{at}", bad)]) from None
    except yaml.YAMLError as error:
        raise DefinitionError([Problem(name, f"invalid YAML: {error}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if loader.duplicates:
        raise DefinitionError(loader.duplicates)
    return data


class _NumberError(ValueError):
    def __init__(self, literal: str, problem: str) -> None:
        super().__init__(problem)
        self.literal = literal


def _json_int(literal: str) -> int:
    try:
        value = int(literal)
    except ValueError:  # more digits than Python converts
        value = _INT64
    if not -_INT64 <= value < _INT64:
        raise _NumberError(literal, f"number out of range (64 bits): {_short(literal)}")
    return value


def _json_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NumberError(literal, _not_finite(literal))
    return value


def _json_constant(literal: str) -> Any:
    raise _NumberError(literal, _not_finite(literal))


def _line_of(text: str, literal: str) -> int | None:
    """The line of ``literal`` written as a value (after ``:``, ``[`` or ``,``)."""
    found = re.search(r"[:\[,]\s*" + re.escape(literal) + r"(?![0-9.eE])", text)
    return text.count("\n", 0, found.end()) + 1 if found else None


def _parse_json(text: str, name: str) -> Any:
    try:
        data = json.loads(text, parse_int=_json_int, parse_float=_json_float,
                          parse_constant=_json_constant)
    except json.JSONDecodeError as error:
        raise DefinitionError([Problem(f"{name}:{error.lineno}", error.msg)]) from None
    except _NumberError as error:
        line = _line_of(text, error.literal)
        raise DefinitionError([Problem(f"{name}:{line}" if line else name, str(error))]) from None
    except RecursionError:
        raise DefinitionError([Problem(name, f"nested deeper than {MAX_DEPTH} levels")]) from None
    problem = _json_limits(data)
    if problem is not None:
        raise DefinitionError([Problem(name, problem)])
    return data


def _json_limits(data: Any) -> str | None:
    """The limit ``data`` breaks, if any (JSON has no aliases: its size is what it holds)."""
    count = 0
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            return f"more than {MAX_NODES:,} values"
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        children = value.values() if isinstance(value, dict) else value \
            if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return None


def parse_document(text: str | bytes, name: str, kind: str = "yaml") -> Any:
    """The data in ``text``: ``kind`` ``"json"`` or ``"yaml"``; the one parser of files and bodies.

    ``name`` places the problems (a file name, ``"body"``). Raises :class:`DefinitionError`:
    ``<name>:<line>: <problem>`` for a syntax error, a number out of range, or a limit
    (:data:`MAX_BYTES`, :data:`MAX_DEPTH`, :data:`MAX_NODES`) broken.
    """
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > MAX_BYTES:
        problem = f"too large: {size:,} bytes (at most {MAX_BYTES:,})"
        raise DefinitionError([Problem(name, problem)])
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            unreadable = Problem(name, f"cannot read: not UTF-8 text ({error.reason})")
            raise DefinitionError([unreadable]) from None
    if kind == "json":
        return _parse_json(text, name)
    if kind != "yaml":
        raise ValueError(f"parse_document: kind is 'yaml' or 'json', got {kind!r}")
    return _parse_yaml(text, name)


def read_document(path: Path) -> Any:
    """The data in ``path``: JSON when it ends in ``.json``, else YAML (dates kept as strings).

    Raises :class:`DefinitionError` naming ``<file>:<line>`` for a syntax error, and the file for
    one that cannot be read or is larger than :data:`MAX_BYTES`; see :func:`parse_document`.
    """
    name = str(path)
    try:
        with Path(path).open("rb") as handle:
            content = handle.read(MAX_BYTES + 1)  # never more than one byte past the limit
    except OSError as error:
        raise DefinitionError([Problem(name, f"cannot read: {error.strerror or error}")]) from None
    if len(content) > MAX_BYTES:
        problem = f"too large: more than {MAX_BYTES:,} bytes"
        raise DefinitionError([Problem(name, problem)])
    kind = "json" if Path(path).suffix.lower() == ".json" else "yaml"
    return parse_document(content, name, kind)
