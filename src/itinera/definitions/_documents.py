"""Read a YAML or JSON document as plain data, with the file and line of a syntax error.

Kept apart from ``loader`` so the validators can read ``journey_files`` without importing the
loader, which imports them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from itinera.errors import DefinitionError, Problem

__all__ = ["read_document"]

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as the strings written and refuses duplicate keys.

    Instants are strings in the models, as in JSON; PyYAML would turn ``2026-01-05T09:00:00Z``
    into a datetime. A key written twice would silently keep the last value (a node defined
    twice loses the first), so duplicates are collected and reported with their lines.
    """

    duplicates: list[Problem]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
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


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse_yaml(text: str, name: str) -> Any:
    loader = _Loader(text)
    loader.name = name
    loader.duplicates = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = error.problem or error.context or "invalid YAML"
        if error.problem and error.context:
            problem = f"{problem} ({error.context})"
        raise DefinitionError([Problem(f"{name}{line}", problem)]) from None
    except yaml.YAMLError as error:
        raise DefinitionError([Problem(name, f"invalid YAML: {error}")]) from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise DefinitionError(loader.duplicates)
    return data


def read_document(path: Path) -> Any:
    """The data in ``path``: JSON when it ends in ``.json``, else YAML (dates kept as strings).

    Raises :class:`DefinitionError` naming ``<file>:<line>`` for a syntax error, and the file for
    one that cannot be read.
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise DefinitionError([Problem(name, f"cannot read: {error.strerror or error}")]) from None
    except UnicodeDecodeError as error:
        problem = Problem(name, f"cannot read: not UTF-8 text ({error.reason})")
        raise DefinitionError([problem]) from None
    if Path(path).suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise DefinitionError([Problem(f"{name}:{error.lineno}", error.msg)]) from None
    return _parse_yaml(text, name)
