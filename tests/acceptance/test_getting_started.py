"""docs/getting-started.md, run as written: every ```bash block in order, in one shell, in a fresh
folder (the installation block aside: CI installs), with the service on a free port."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "getting-started.md"
BLOCK = re.compile(r"^```bash( install)?\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks() -> tuple[list[str], list[str]]:
    """The guide's shell blocks to run, and those it marks as the installation."""
    found = BLOCK.findall(GUIDE.read_text())
    return [body for install, body in found if not install], [body for install, body in found if install]


def test_the_guide_has_its_steps() -> None:
    run, install = blocks()
    assert len(install) == 1 and "pip install -e" in install[0]
    script = "\n".join(run)
    for command in ("itinera validate", "itinera simulate", "itinera workspace apply",
                    "itinera journeys publish", "itinera serve", "/v1/identify", "/v1/group",
                    "/v1/track", "/ui/login", "docs/reference/journeys.md"):
        assert command in script or command in GUIDE.read_text(), command


def test_every_command_of_the_guide_runs(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run, _ = blocks()
    script = "\n".join(run).replace("8000", str(port))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("ITINERA_DATABASE", None)
    env["COLUMNS"] = "200"  # rich tables unwrapped, as on a wide terminal
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n"
                       + script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = result.stdout
    assert result.returncode == 0, f"{out[-3000:]}\n--- stderr:\n{result.stderr[-3000:]}"
    folder = tmp_path / "my-journeys"
    assert (folder / "workspace.yaml").is_file() and (folder / "itinera.db").is_file()
    assert "ok workspace.yaml" in out and "ok trial-welcome.journey.yaml" in out
    assert "trial-welcome: 2 enrollments — 2 completed" in out  # the simulation, expectations held
    assert '"account":"cedar"' in out.replace(" ", "")  # the API's enrollment of the Segment group
    assert "Call Cedar Labs: they clicked" in out  # the CSM's task
    assert "Welcome new trials" in out  # the UI's journey page, signed in
