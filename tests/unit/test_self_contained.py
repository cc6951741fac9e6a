"""The repository runs from a fresh clone with nothing beside it: no source, test, script, doc or
example names a path outside it (the conformance cases are in tests/conformance/)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Written in pieces so that this file does not match itself (nor a grep for such paths).
OUTSIDE = re.compile("/" + "work/|" + r"\.\./" + "shared|" + r"\bshared/(spec|conformance|seeds|hooks)\b")
TEXT = {".py", ".md", ".yaml", ".yml", ".toml", ".html", ".css", ".cfg", ".txt", ".json", ""}


def test_nothing_names_a_path_outside_the_repository() -> None:
    files = [ROOT / "README.md", ROOT / "pyproject.toml", ROOT / ".ci" / "run"]
    for folder in ("src", "tests", "bench", "docs", "examples", ".ci"):
        files += [p for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in TEXT]
    assert len(files) > 100
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for path in files if path != Path(__file__).resolve()
             for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
             if OUTSIDE.search(line)]
    assert found == []
