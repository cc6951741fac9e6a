"""The readable report of ``itinera simulate``: per journey, enrollments by status, per-node
counts, deliveries and tasks."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from itinera.definitions.loader import LoadedScenario

__all__ = ["print_report"]


def print_report(console: Console, result: dict[str, Any], loaded: LoadedScenario) -> None:
    clock = result["clock"]
    console.print(f"[bold]Simulated[/] {clock['start']} → {clock['end']}")
    journeys = list(dict.fromkeys([j.id for j in loaded.journeys]
                                  + [e["journey"] for e in result["enrollments"]]))
    for journey in journeys:
        enrollments = [e for e in result["enrollments"] if e["journey"] == journey]
        statuses = Counter(e["status"] for e in enrollments)
        goals = sum(1 for e in enrollments if e["goal_achieved"])
        console.print()
        console.print(f"[bold cyan]{journey}[/]: {len(enrollments)} enrollments — "
                      + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
                      + (f"; goal achieved by {goals}" if goals else ""))
        entered: Counter[str] = Counter()
        for e in enrollments:
            entered.update(e["path"])
        ended_here: Counter[str] = Counter(e["path"][-1] for e in enrollments
                                           if e["path"] and e["status"] != "active")
        waiting: Counter[str] = Counter(e["path"][-1] for e in enrollments
                                        if e["path"] and e["status"] == "active")
        table = Table("node", "entered", "waiting", "ended here", box=None, pad_edge=False)
        definition = next((j for j in loaded.journeys if j.id == journey), None)
        nodes = list(definition.nodes) if definition else sorted(entered)
        for node in nodes:
            table.add_row(node, str(entered[node]), str(waiting[node]), str(ended_here[node]))
        console.print(table)
        sent = [d for d in result["deliveries"] if d["journey"] == journey]
        skipped = [s for s in result["skipped"] if s["journey"] == journey]
        tasks = [t for t in result["tasks"] if t["journey"] == journey]
        for d in sent:
            target = d.get("to") or d.get("url")
            label = d.get("subject") or d.get("method")
            held = f"  (quiet hours: decided {d['deferred_from']})" if d.get("deferred_from") else ""
            console.print(f"  {d['at']}  {d['channel']:<7} → {target}  {label}{held}",
                          markup=False)
        for s in skipped:
            to = f" to {s['person']}" if s["person"] else ""  # none: it reached nobody
            console.print(f"  {s['at']}  skipped {s['channel']}{to}: {s['reason']}",
                          markup=False)
        for t in tasks:
            console.print(f"  {t['at']}  task for {t['assignee']}: {t['title']} (due {t['due']})",
                          markup=False)
