"""Malformed and hostile journey and scenario files get errors with their places, never a
traceback, a hang or a memory blow-up: seeded mutants of the examples and conformance cases
through ``itinera validate`` and ``itinera simulate``, and files built to exhaust the reader."""

from __future__ import annotations

import copy
import json
import random
import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from conformance import scenarios
from itinera.cli.main import app
from itinera.definitions import _documents as documents
from itinera.definitions import parse_document, read_document, validate_journey
from itinera.definitions._documents import MAX_BYTES, MAX_DEPTH, MAX_NODES
from itinera.errors import DefinitionError

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "examples").glob("*.yaml")) + scenarios()
ODD: list[Any] = [None, [], {}, [1, 2], "", "x", 10**30, -1, 1.5e300, True, "yes", 0, -(10**20),
                  "\u202e\u200bbad", "e\u0301\U0001f600", "\t", {"a": {"b": [None]}}, "1e400",
                  "next", "2026-13-45T99:00:00Z", "-3d", "account.", "{{ broken", "http//x"]
WEIRD_TEXT = ["\u00a0", "\ufeff", "*", "&", "{", "[", "'", '"', "%", "!", "|", "\x85", "\u2028",
              "\t", "\x00", "\x1b", ": ", "- ", "? ", "<<: ", "*nope ", "&a "]
JOURNEY = "id: j\nentry: {segments: [s]}\nstart: a\nnodes:\n  a: {end: true}\n"


def _places(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _places(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _places(item, (*here, index))
    return found


def _mutate_data(data: Any, rng: random.Random) -> Any:
    data = copy.deepcopy(data)
    for _ in range(rng.randint(1, 3)):
        places = [p for p in _places(data) if p]
        if not places:
            break
        place = rng.choice(places)
        parent = data
        for key in place[:-1]:
            parent = parent[key]
        key, op = place[-1], rng.randrange(6)
        if op == 0:
            del parent[key]
        elif op == 1:
            parent[key] = copy.deepcopy(rng.choice(ODD))
        elif op == 2:
            nested: Any = "x"
            for _ in range(rng.choice([5, 30, 60])):
                nested = [nested] if rng.random() < 0.5 else {"k": nested}
            parent[key] = nested
        elif op == 3 and isinstance(parent, dict):
            parent[rng.choice([1, True, None, "yes", 2.5, "x y", "é"])] = parent.pop(key)
        elif op == 4:
            other = rng.choice(places)  # a value moved where another kind is expected
            source = data
            for part in other:
                source = source[part]
            parent[key] = copy.deepcopy(source)
        else:
            parent[key] = [parent[key]] if rng.random() < 0.5 else {"k": parent[key]}
    return data


def _mutate_text(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    i, op = rng.randrange(len(lines)), rng.randrange(8)
    if op == 0:
        return text[:rng.randrange(len(text))]
    if op == 1:
        lines[i] = "\t" + lines[i]
    elif op == 2:
        lines[i] = lines[i].replace(": ", ": &a ", 1) + "dup: *a\n"
    elif op == 3:
        lines.insert(i, lines[i])
    elif op == 4:
        del lines[i]
    elif op == 5:
        depth = rng.choice([60, 500, 5000])
        lines[i] = lines[i].replace(": ", ": " + "[" * depth + "]" * depth + " ", 1)
    elif op == 6:
        j = rng.randrange(len(text))
        return text[:j] + rng.choice(WEIRD_TEXT) + text[j + 1:]
    else:
        lines[i] = re.sub(r"\b\d+\b", rng.choice(["1e400", ".nan", "-.inf", "9" * 40]), lines[i])
    return "".join(lines)


def _mutants(directory: Path, count: int, seed: int, sources: list[Path]) -> list[Path]:
    rng = random.Random(seed)
    made = []
    for i in range(count):
        source = rng.choice(sources)
        text = source.read_text(encoding="utf-8")
        suffix = ".yaml"
        if rng.random() < 0.55:
            data = _mutate_data(yaml.safe_load(text), rng)
            if rng.random() < 0.25:
                suffix, text = ".json", json.dumps(data, default=str)
            else:
                text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        else:
            text = _mutate_text(text, rng)
        path = directory / f"m{i:03}-{source.stem}{suffix}"
        if rng.random() < 0.03:
            path.write_bytes(text.encode("utf-8")[:50] + b"\xff\xfe" + text.encode("utf-8")[50:])
        else:
            path.write_text(text, encoding="utf-8")
        made.append(path)
    return made


def test_hundreds_of_malformed_files_get_placed_errors_from_validate(tmp_path: Path) -> None:
    files = _mutants(tmp_path, 300, seed=10, sources=SOURCES)
    result = CliRunner().invoke(app, ["validate", *map(str, files)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    ok = set(result.stdout.splitlines())
    problems = result.stderr.splitlines()
    assert problems[-1].endswith(f"of {len(files)} file(s) invalid")
    by_file: dict[str, list[str]] = {}
    for line in problems[:-1]:
        name = re.match(r"(.+?\.(?:yaml|json))[:]", line)
        assert name is not None, line
        by_file.setdefault(name.group(1), []).append(line[len(name.group(1)):])
    for path in files:
        if f"ok {path}" in ok:
            continue
        lines = by_file.get(str(path))
        assert lines, f"{path}: neither ok nor a problem"
        for line in lines:  # `<file>:<line>: <problem>` or `<file>: <place>: <problem>`
            assert re.fullmatch(r"(:\d+: .+|: \S.*)", line), f"{path}{line}"
    assert len(by_file) > 220  # the mutants are mostly broken: the test exercises the errors


def test_malformed_scenarios_through_simulate_exit_0_1_or_2(tmp_path: Path) -> None:
    scenarios = [p for p in SOURCES if not p.name.endswith(".journey.yaml")]
    codes = set()
    for path in _mutants(tmp_path, 80, seed=11, sources=scenarios):
        result = CliRunner().invoke(app, ["simulate", str(path), "--json"])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            path, result.exception)
        assert result.exit_code in (0, 1, 2) and "Traceback" not in result.output, path
        if result.exit_code == 2:
            assert result.stderr.startswith(str(path)), result.stderr
        codes.add(result.exit_code)
    assert 2 in codes


def _peak(read: Callable[[], Any]) -> tuple[str, int]:
    tracemalloc.start()
    try:
        read()
    except DefinitionError as error:
        return str(error), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    raise AssertionError("no error")


def _laughs() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("laughs.yaml", _laughs(), f"laughs.yaml:6: more than {MAX_NODES:,} values"),
    ("deep.yaml", "[" * 100_000 + "]" * 100_000, f"deep.yaml:1: nested deeper than {MAX_DEPTH}"),
    ("deep.json", "[" * 100_000 + "]" * 100_000, f"deep.json: nested deeper than {MAX_DEPTH}"),
    ("deep-map.yaml", "a: " + "{a: " * 5000 + "1" + "}" * 5000,
     f"deep-map.yaml:1: nested deeper than {MAX_DEPTH}"),
    ("huge.yaml", "x: '" + "a" * (MAX_BYTES + 10) + "'\n", "huge.yaml: too large"),
    ("loop.yaml", "a: &a [1, *a]\n", "loop.yaml:1: alias *a is inside its own anchor"),
    ("digits.yaml", "x: " + "9" * 100_000 + "\n", "digits.yaml:1: number out of range"),
    ("digits.json", '{"x":\n' + "9" * 5_000 + "}", "digits.json:2: number out of range"),
    ("nan.yaml", "a: 1\nb: .nan\n", "nan.yaml:2: not a finite number: .nan"),
    ("inf.yaml", "a: -.inf\n", "inf.yaml:1: not a finite number: -.inf"),
    ("exp.yaml", "a:\n  b: [1, 1e400]\n", "exp.yaml:2: number out of range: 1e400"),
    ("big-int.yaml", "a: 9223372036854775808\n", "big-int.yaml:1: number out of range (64 bits)"),
    ("nan.json", '{"a": 1,\n "b": NaN}', "nan.json:2: not a finite number: NaN"),
    ("exp.json", '{"a": [1e400]}', "exp.json:1: number out of range: 1e400"),
    ("control.yaml", "id: j\nname: a\x00b\n", "control.yaml:2: character #x0000 is not allowed"),
])
def test_hostile_files_are_refused_before_they_are_built(
        tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    message, peak = _peak(lambda: read_document(path))
    assert message.startswith(f"{tmp_path}/{expected}"), message
    assert peak < 64 * 1024 * 1024  # the 9**9 laughs reached gigabytes before the limits


@pytest.mark.parametrize(("name", "text"), [
    ("wide.yaml", "x: [" + "1, " * 1500 + "{a: 1}]\n"), ("wide.json", "[" + "1," * 1500 + "1]")])
def test_a_file_with_more_values_than_the_limit_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str) -> None:
    monkeypatch.setattr(documents, "MAX_NODES", 1000)  # the limit's work, not 100,000 values'
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        read_document(path)
    line = ":1" if name.endswith(".yaml") else ""
    assert str(caught.value).startswith(f"{path}{line}: more than 1,000 values")


def test_a_file_larger_than_the_limit_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * MAX_BYTES)  # sparse: 100 MB of NUL bytes
    message, peak = _peak(lambda: read_document(path))
    assert message == f"{path}: too large: more than {MAX_BYTES:,} bytes"
    assert peak < 3 * MAX_BYTES


def test_aliases_within_the_limits_still_work(tmp_path: Path) -> None:
    assert parse_document("a: &c {x: 1}\nb: *c\n", "t") == {"a": {"x": 1}, "b": {"x": 1}}


# --- names are text, numbers are finite ---------------------------------------------------------

YES_NO = """
id: j
entry: {segments: [s]}
start: yes
nodes:
  yes: {wait: 1d, next: no}
  no:
    split:
      - {when: {account.on: true}, next: on}
      - {else: off}
  on: {experiment: {name: n, variants: [{name: y, weight: 1, next: off}]}}
  off: {end: yes}
  2024: {end: true}
"""


def test_node_ids_that_yaml_1_1_reads_as_booleans_or_numbers_stay_names() -> None:
    raw = parse_document(YES_NO, "j.yaml")
    assert list(raw["nodes"]) == ["yes", "no", "on", "off", "2024"]
    assert raw["start"] == "yes" and raw["nodes"]["yes"]["next"] == "no"
    assert raw["nodes"]["no"]["split"] == [{"when": {"account.on": True}, "next": "on"},
                                          {"else": "off"}]  # a value that is not a name: a bool
    assert raw["nodes"]["off"] == {"end": True}
    _, problems = validate_journey(raw, "", None)
    assert [str(p) for p in problems] == ["nodes.2024: unreachable from start 'yes'"]


def test_a_key_written_as_number_and_as_text_is_a_duplicate() -> None:
    with pytest.raises(DefinitionError, match="t:2: duplicate key '1'"):
        parse_document("'1': a\n1: b\n", "t")


def test_a_boolean_where_a_name_goes_says_to_quote_it() -> None:
    raw = parse_document(JOURNEY.replace("[s]", "[on]"), "j.yaml")
    _, problems = validate_journey(raw, "", None)
    assert [str(p) for p in problems] == [
        "entry.segments[0]: expected text, got True: YAML reads unquoted yes, no, on, off, true "
        "and false as booleans; quote it ('yes')"]


@pytest.mark.parametrize("weight", ["inf", "nan", "'1e400'"])
def test_non_finite_numbers_written_as_text_are_refused(weight: str) -> None:
    text = JOURNEY.replace("a: {end: true}", "a: {experiment: {name: e, variants: "
                           f"[{{name: v, weight: {weight}, next: b}}]}}}}\n  b: {{end: true}}")
    _, problems = validate_journey(parse_document(text, "j.yaml"), "", None)
    assert [p.place for p in problems] == ["nodes.a.experiment.variants[0].weight"]
    assert "finite number" in problems[0].message


def test_exponents_without_a_dot_are_numbers_as_in_yaml_1_2() -> None:
    assert parse_document("a: 1e3\nb: 2.5E-1\nc: '1e3'\n", "t") == {"a": 1000.0, "b": 0.25,
                                                                   "c": "1e3"}


# --- webhook URLs -------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "problem"), [
    ("crm.test/api", "expected an http:// or https:// URL, got 'crm.test/api'"),
    ("ftp://crm.test/a", "expected an http:// or https:// URL, got 'ftp://crm.test/a'"),
    ("https://crm test/a", "a URL has no spaces or control characters (encode a space as %20), "
                           "got 'https://crm test/a'"),
    ("https:///a", "no host in 'https:///a'"),
    ("https://u:secret@/a", "no host in 'https://***@/a'"),
    ("https://crm.test:99999/", "not a URL (Port out of range 0-65535), "
                                "got 'https://crm.test:99999/'"),
    ("hooks/{{ account.id }}", "expected http:// or https:// first, got 'hooks/{{ account.id }}'"),
    ("https://crm.test/a/{{ account.id }}", None),
    ("{{ account.hook_url }}", None),
    ("https://user:pw@crm.test/a?b=c", None),
])
def test_webhook_urls_are_checked_at_their_place(url: str, problem: str | None) -> None:
    text = JOURNEY.replace("a: {end: true}", "a: {do: [{webhook: {url: URL}}], next: b}\n"
                           "  b: {end: true}").replace("URL", json.dumps(url))
    _, problems = validate_journey(parse_document(text, "j.yaml"), "", None)
    expected = [] if problem is None else [f"nodes.a.do[0].webhook.url: {problem}"]
    assert [str(p) for p in problems] == expected
