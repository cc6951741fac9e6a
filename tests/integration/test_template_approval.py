"""Under the approval workflow (`approval.templates`), a template's `approved: true` in the file
does not make it approved: with no approved review of its content, its emails are skipped
(`template_not_approved`), in the simulator and live alike. Without the workflow the file's flag
decides, as before."""

from __future__ import annotations

from pathlib import Path

from .helpers import by, run, simulated_and_live

SCENARIO = """
start: 2026-01-05T09:00:00Z
until: 1d
data:
  APPROVAL
  accounts: [{id: acme}]
  people: [{id: p1, account: acme, email: cto@acme.test}]
  segments: [{id: all, when: {account.id: {exists: true}}}]
  templates:
    - {id: hello, subject: Hello, text: Hi, approved: true}
    - {id: bye, subject: Bye, text: Bye, approved: false}
journeys:
  - id: hello
    entry: {segments: [all], existing: true}
    start: greet
    nodes:
      greet: {do: [{send_email: {template: hello}}, {send_email: {template: bye}}]}
timeline:
  - {at: 0s, enable: hello}
"""


def test_under_the_workflow_an_unreviewed_template_is_skipped(tmp_path: Path,
                                                              database_url: str) -> None:
    text = SCENARIO.replace("APPROVAL", "approval: {templates: true}")
    simulated, live = simulated_and_live(tmp_path, database_url, text)
    for result in (simulated, live):
        assert result["deliveries"] == []
        assert sorted(by(result["skipped"], "template", "reason")) == [
            ("bye", "template_not_approved"), ("hello", "template_not_approved")]


def test_without_it_the_file_says(tmp_path: Path, database_url: str) -> None:
    result = run(tmp_path, database_url, SCENARIO.replace("APPROVAL", "approval: {journeys: true}"))
    assert by(result["deliveries"], "template") == [("hello",)]
    assert by(result["skipped"], "template", "reason") == [("bye", "template_not_approved")]
