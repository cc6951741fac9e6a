"""How a case's ``.expect.yaml`` is compared with an ``itinera simulate --json`` run — the rules of
the public conformance runner, kept here so the cases run without anything outside the repository:

    exit_code: 0                # default 0
    stderr_contains: [text]     # each must appear in standard error
    enrollments: [{...}]        # lists: same length, item i partially matches result item i
    deliveries: [...]           # (also skipped, tasks, campaigns, buying_groups)
    accounts: {id: {...}}       # mappings: each named entry partially matches
    people: {id: {...}}

A partial match checks only the keys written; null expects a missing or null value; numbers match
within 0.01.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["LISTS", "MAPS", "differences", "problems"]

LISTS = ("enrollments", "deliveries", "skipped", "tasks", "campaigns", "buying_groups")
MAPS = ("accounts", "people")


def differences(expected: Any, actual: Any, where: str) -> list[str]:
    """What in ``actual`` fails to match ``expected`` (partially), each with its place."""
    if expected is None:
        return [] if actual is None else [f"{where}: expected null, got {actual!r}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected a mapping, got {actual!r}"]
        out: list[str] = []
        for key, value in expected.items():
            out += differences(value, actual.get(key), f"{where}.{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list of {len(expected)}, got {actual!r}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            out += differences(e, a, f"{where}[{i}]")
        if len(actual) != len(expected):
            extra = actual[len(expected):] or expected[len(actual):]
            side = "unexpected" if len(actual) > len(expected) else "missing"
            out.append(f"{where}: {len(actual)} items, expected {len(expected)}; "
                       f"{side}: {json.dumps(extra, default=str)[:300]}")
        return out
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if expected is actual else [f"{where}: expected {expected!r}, got {actual!r}"]
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return [] if abs(expected - actual) <= 0.01 else [f"{where}: expected {expected}, got {actual}"]
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]


def problems(expect: dict[str, Any], returncode: int, stdout: str, stderr: str) -> list[str]:
    """Every way a run (exit code, standard output and error) misses the case's expectations."""
    found: list[str] = []
    if returncode != expect.get("exit_code", 0):
        found.append(f"exit code {returncode}, expected {expect.get('exit_code', 0)}; "
                     f"stderr: {stderr.strip()[-400:]}")
    for text in expect.get("stderr_contains", []):
        if text not in stderr:
            found.append(f"standard error lacks {text!r}")
    wanted = [k for k in LISTS + MAPS if k in expect]
    if not wanted:
        return found
    try:
        result = json.loads(stdout)
    except json.JSONDecodeError:
        return [*found, f"standard output is not JSON: {stdout[:200]!r}"]
    for key in wanted:
        if key in LISTS:
            found += differences(expect[key], result.get(key), key)
        else:
            for name, part in expect[key].items():
                found += differences(part, (result.get(key) or {}).get(name), f"{key}.{name}")
    return found
