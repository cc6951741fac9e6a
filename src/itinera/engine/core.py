"""The core of the engine: every input — data, event, lifecycle command, timer — is one step.

A step applies its data, re-evaluates the segments it can affect, checks the active enrollments
of the affected accounts (segment exit, exit criteria, goal, waiting listeners), then enrolls
where an entry happened, journey by journey in the order they were enabled
(docs/reference/journeys.md, "The order of evaluation at one instant"). Data changed by
actions is settled in further rounds of the same step.
The same engine runs scenarios (virtual clock) and live traffic; it never reads the clock.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from itinera.conditions import evaluate, explain, next_flip
from itinera.domain.model import Account, Enrollment, Event, Person
from itinera.engine.actions import score_event
from itinera.engine.catalog import CompiledJourney, Workspace
from itinera.engine.paths import PathRunner
from itinera.engine.render import Renderer
from itinera.engine.step import Change, Step
from itinera.engine.world import World
from itinera.errors import ItineraError
from itinera.storage.store import Store, Timer
from itinera.timeutil import format_instant

__all__ = ["EngineCore", "EngineError"]

MAX_ROUNDS = 100
_PREFETCH = 500  # due timers whose accounts are loaded together
_KEEP = 60_000  # at most this many records (accounts and people) are kept between batches


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while a batch holds a large world: a batch
    allocates many long-lived records, and frequent collections would scan them again and again
    (measured: about a fifth of a 20,000-account simulation). Restored afterwards."""
    previous = gc.get_threshold()
    gc.set_threshold(max(previous[0], 100_000), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


class EngineError(ItineraError):
    """A command the engine cannot carry out (unknown journey, runaway cascade)."""


class EngineCore:
    """Steps and their checks; the inputs and the lifecycle build on it (``Engine``)."""

    def __init__(self, store: Store, workspace: Workspace | None = None, *,
                 sandbox: bool = False, record_history: bool = True) -> None:
        self.store = store
        # The decision trace of each enrollment (node visits, decisions and their values).
        self.record_history = record_history
        # In sandbox (simulation) a delivery counts as sent at once; live, the outbox sends it.
        self.delivery_status = "sent" if sandbox else "pending"
        self.workspace = workspace or Workspace()
        self.renderer = Renderer()
        self._world: World | None = None
        # The world of the last batch, kept while the store says its records cannot have
        # changed behind it (an exclusive store, no rollback since): ``_kept_generation``.
        self._kept: World | None = None
        self._kept_generation: int | None = None

    # -- steps ---------------------------------------------------------------------------------
    @contextmanager
    def batch(self) -> Iterator[None]:
        """Run many steps in one transaction over one in-memory world (written at the end).

        Each step keeps its own meaning; the batch only saves round trips. Used by the
        simulator and by workers that take inputs in batches.
        """
        if self._world is not None:
            yield
            return
        kept, self._kept = self._kept, None  # dropped unless this batch commits
        with _fewer_collections(), self.store.transaction():
            if kept is not None and self.store.records_generation() == self._kept_generation:
                kept.reopen(self.workspace)
                world = kept
            else:
                world = World(self.store, self.workspace, datetime.min)
            self._world = world
            try:
                yield
                world.flush()
            finally:
                self._world = None
        # Committed — or, in a transaction someone else holds, not yet: a rollback there
        # changes the generation, and the next batch starts afresh.
        generation = self.store.records_generation()
        if generation is not None and world.size <= _KEEP:
            self._kept, self._kept_generation = world, generation

    def replace_workspace(self, workspace: Workspace) -> None:
        """Take a workspace reloaded from the store (another process changed it)."""
        self.workspace = workspace

    @property
    def world(self) -> World | None:
        """The in-memory world of the current batch, if one is open."""
        return self._world

    def _step(self, now: datetime, apply: Callable[[Step], Any]) -> Any:
        world = self._world
        if world is None:  # a step alone: its own batch
            with self.batch():
                return self._step(now, apply)
        # Inside a batch (the common case: many steps per round) no context manager is
        # entered per step; they cost a few percent of a step.
        world.now = now
        step = Step(now, world)
        result = apply(step)
        self._settle(step)
        self._schedule_reevaluations(step)
        return result

    def _settle(self, step: Step) -> None:
        rounds = 0
        while step.pending:
            rounds += 1
            if rounds > MAX_ROUNDS:
                raise EngineError(
                    f"data changes kept cascading after {MAX_ROUNDS} rounds at "
                    f"{format_instant(step.now)} (accounts {sorted(step.pending)[:5]})")
            batch, step.pending = step.pending, {}
            for account_id, change in batch.items():
                self._reevaluate_segments(step, account_id, change)
            for account_id, change in batch.items():
                self._check_enrollments(step, account_id, change)
            for journey in self.workspace.enabled_journeys():
                for account_id, change in batch.items():
                    trigger = self._entry_trigger(step, journey, account_id, change)
                    if trigger is not None:
                        self._enroll(step, journey, account_id, trigger)

    def _reevaluate_segments(self, step: Step, account_id: str, change: Change) -> None:
        world = step.world
        account = world.account(account_id)
        if account is None:
            return
        before = set(world.segments(account_id))
        now_in = self.memberships(world, account, step.now)
        world.set_segments(account_id, now_in)
        for segment in self.workspace.segments:
            entered, left = segment.id in now_in - before, segment.id in before - now_in
            if entered or left:
                (change.entered if entered else change.exited).append(segment.id)
                kind = "segment.entered" if entered else "segment.exited"
                event = Event(id=f"{kind}:{account_id}:{self.store.next_value('seq:segment')}",
                              type=kind, at=step.now, account=account_id,
                              properties={"segment": segment.id})
                world.add_event(event)
                step.consequence(change, event)

    def memberships(self, world: World, account: Account, now: datetime) -> set[str]:
        """The segments ``account`` is in at ``now``, evaluated in dependency order so that
        ``in_segment`` reads the memberships just computed."""
        current = world.segments(account.id)
        before = set(current)
        facts = world.facts(account)
        members: set[str] = set()
        try:
            for segment in self.workspace.segments:
                current.clear()
                current.update(members)
                if evaluate(segment.when, facts, now):
                    members.add(segment.id)
        finally:
            current.clear()
            current.update(before)
        return members

    def _check_enrollments(self, step: Step, account_id: str, change: Change) -> None:
        world = step.world
        account = world.account(account_id)
        if account is None:
            return
        for enrollment in list(world.enrollments(account_id)):
            if not enrollment.active:
                continue
            if self.workspace.states[enrollment.journey].status != "enabled":
                continue  # a paused journey takes no steps
            journey = self.workspace.versions[(enrollment.journey, enrollment.version)]
            entry_segments = set(journey.definition.entry.segments)
            if (journey.definition.exit.on_segment_exit and entry_segments & set(change.exited)
                    and not entry_segments & world.segments(account_id)):
                self.end_enrollment(step, enrollment, "unenrolled", "segment_exit")
                continue
            if self.check_exit_and_goal(step, journey, enrollment, account):
                continue
            self._wake_listeners(step, journey, enrollment, account, change)

    def check_exit_and_goal(self, step: Step, journey: CompiledJourney, enrollment: Enrollment,
                            account: Account) -> bool:
        """Apply exit criteria then the goal; True when the enrollment ended."""
        if journey.exit is None and journey.goal is None:
            return False
        facts = step.world.facts(account)
        if journey.exit is not None and evaluate(journey.exit, facts, step.now):
            if self.record_history:
                self.history(enrollment.id, step.now, None, {
                    "event": "exit_criteria_met", "when": journey.definition.exit.when,
                    "values": explain(journey.exit, facts, step.now)})
            self.end_enrollment(step, enrollment, "unenrolled", "exit_criteria")
            return True
        goal = journey.definition.goal
        if (journey.goal is not None and goal is not None and not enrollment.goal_achieved
                and evaluate(journey.goal, facts, step.now)):
            enrollment.goal_achieved, enrollment.goal_at = True, step.now
            step.world.touch_enrollment(enrollment)
            self.history(enrollment.id, step.now, None, {
                "event": "goal_achieved", "when": goal.when,
                "values": explain(journey.goal, facts, step.now) if self.record_history else {}})
            if goal.on_met == "exit":
                self.end_enrollment(step, enrollment, "exited", "goal")
                return True
        return False

    def _wake_listeners(self, step: Step, journey: CompiledJourney, enrollment: Enrollment,
                        account: Account, change: Change) -> None:
        runner = PathRunner(self, step, journey, enrollment, account)
        for token in [k for k in enrollment.tokens if k.state == "listen"]:
            if not enrollment.active or token not in enrollment.tokens:
                continue
            node = journey.node(token.node)
            why, values = None, None
            # Only what happened after the path began listening: not, say, its own
            # change_score just before the wait_for, at the same instant.
            events = step.heard(change, enrollment.id, token.id)
            matched = next((e for e in events if runner.event_matches(token, node, e)), None)
            if matched is not None:
                why = f"event {matched.type} ({matched.id})"
            else:
                condition = journey.wait_for_conditions.get(token.node)
                if condition is not None and evaluate(condition, step.world.facts(account),
                                                      step.now):
                    why, values = "condition holds", runner.values([condition])
            if why is not None:
                if token.timer is not None:
                    self.store.delete_timers(ids=[token.timer])
                runner.resume(token, node.next, why, values)

    def _entry_trigger(self, step: Step, journey: CompiledJourney, account_id: str,
                       change: Change) -> dict[str, Any] | None:
        entry = journey.definition.entry
        if set(entry.segments) & set(change.entered):
            return {"segment": next(s for s in change.entered if s in entry.segments)}
        if entry.event is not None:
            account = step.world.account(account_id)
            for event in change.events:
                if event.type != entry.event.type:
                    continue
                if journey.entry_where is not None:
                    assert account is not None
                    facts = step.world.facts(account)
                    if not evaluate(journey.entry_where, facts, step.now, event=event):
                        continue
                return {"event": {"id": event.id, "type": event.type, "person": event.person,
                                  "properties": event.properties}}
        return None

    def _enroll(self, step: Step, journey: CompiledJourney, account_id: str,
                trigger: dict[str, Any] | None) -> Enrollment | None:
        world = step.world
        account = world.account(account_id)
        if account is None:
            return None
        if any(e.active and e.journey == journey.id for e in world.enrollments(account_id)):
            return None  # one active enrollment per journey: the entry is ignored
        last = world.last_enrollment(journey.id, account_id)
        if last is not None:
            opens = journey.reentry_opens(last.enrolled_at, last.ended_at)
            if opens is None or opens > step.now:
                return None
        enrollment = Enrollment(
            id=self.store.next_value("seq:enrollment"), journey=journey.id,
            version=journey.version, account=account_id, enrolled_at=step.now,
            event=(trigger or {}).get("event"))
        world.add_enrollment(enrollment)
        step.touched[account_id] = None
        self.history(enrollment.id, step.now, None, {"event": "enrolled", "trigger": trigger})
        targets = journey.definition.exit.unenroll_from
        for other in world.enrollments(account_id):
            if other is not enrollment and other.active and (
                "*" in targets or other.journey in targets
            ):
                self.end_enrollment(step, other, "unenrolled", f"unenrolled_by:{journey.id}")
        if self.check_exit_and_goal(step, journey, enrollment, account):
            return enrollment
        runner = PathRunner(self, step, journey, enrollment, account)
        runner.start([p.id for p in world.people(account_id)])
        return enrollment

    def end_enrollment(self, step: Step, enrollment: Enrollment, status: str, reason: str) -> None:
        enrollment.status, enrollment.reason, enrollment.ended_at = status, reason, step.now
        enrollment.tokens = []
        self.store.delete_timers(enrollment=enrollment.id, account=enrollment.account)
        step.world.touch_enrollment(enrollment)
        self.history(enrollment.id, step.now, None,
                     {"event": "ended", "status": status, "reason": reason})

    def history(self, enrollment: int, at: datetime, node: str | None,
                entry: dict[str, Any]) -> None:
        if self.record_history:
            self.store.add_history(enrollment, at, node, entry)

    def change_score(self, step: Step, person: Person, by: float, key: str) -> None:
        person.score += by
        step.world.touch_person(person)
        if person.account is None:
            return
        step.world.rescore_groups(person.account)
        event = score_event(person, by, key, step.now)
        step.world.add_event(event)
        step.mark(person.account, event)

    def _schedule_reevaluations(self, step: Step) -> None:
        self.schedule_reevaluations(step.world, list(step.touched), step.now)

    def schedule_reevaluations(self, world: World, accounts: list[str], now: datetime) -> None:
        """Set each account's re-evaluation timer to its next time-based flip (none if none)."""
        segments = [s.when for s in self.workspace.segments if s.clock_dependent]
        versions = self.workspace.versions
        for account_id in accounts:
            account = world.account(account_id)
            if account is None:
                continue
            conditions = list(segments)
            for enrollment in world.enrollments(account_id):
                if enrollment.active:
                    journey = versions[(enrollment.journey, enrollment.version)]
                    conditions += journey.clock_conditions
                    if journey.clock_wait_for:
                        conditions += [journey.clock_wait_for[k.node] for k in enrollment.tokens
                                       if k.state == "listen" and k.node in journey.clock_wait_for]
            best: datetime | None = None
            if conditions:  # most accounts have none that time alone can flip
                facts = world.facts(account)
                for condition in conditions:
                    flip = next_flip(condition, facts, now)
                    if flip is not None and (best is None or flip < best):
                        best = flip
            # Most steps leave the instant as it was (or there is none): the timer stays.
            current = self.store.timers_of(account_id, "reeval")
            if not current and best is None:
                continue
            if [c.due_at for c in current] == ([] if best is None else [best]):
                continue
            if current:
                self.store.delete_timers(ids=[c.id for c in current])
            if best is not None:
                self.store.add_timer(Timer(id=0, due_at=best, kind="reeval", account=account_id))

    # -- time: timers falling due ------------------------------------------------------------
    def next_due(self) -> datetime | None:
        return self.store.next_due()

    def run_due(self, until: datetime, accounts: Collection[str] | None = None,
                limit: int | None = None) -> int:
        """Fire every timer due at or before ``until`` (of ``accounts`` only, when given), each
        at its own instant, in order — at most ``limit`` of them; returns how many fired."""
        fired = 0
        while limit is None or fired < limit:
            world = self._world
            if world is None:  # outside a batch, each firing is a transaction: each look too
                with self.store.transaction():
                    timers = self.store.due_timers(until, 1, accounts)
            else:  # the batch's transaction (entering a nested one cost a few percent a step)
                timers = self.store.due_timers(until, 1, accounts)
            if not timers:
                return fired
            timer = timers[0]
            if world is not None and timer.account is not None and not world.loaded(timer.account):
                # One timer at a time (each may set or cancel others), but the records of the
                # accounts of the next ones are loaded together: a few queries instead of a
                # handful per timer.
                ahead = _PREFETCH if limit is None else min(_PREFETCH, limit - fired)
                upcoming = self.store.due_timers(until, ahead, accounts)
                world.prefetch([t.account for t in upcoming if t.account is not None])
            self._fire(timer, timer.due_at)
            fired += 1
        return fired

    def _fire(self, timer: Timer, now: datetime) -> None:
        def apply(step: Step) -> None:
            state = self.workspace.states.get(timer.journey or "")
            if state is not None and state.status == "paused":
                self.store.hold_timer(timer.id)  # it runs when the journey resumes
                return
            self.store.delete_timers(ids=[timer.id])
            if timer.kind == "reeval":
                if timer.account is not None:
                    step.mark(timer.account)
                return
            self._wake(step, timer)

        self._step(now, apply)

    def _wake(self, step: Step, timer: Timer) -> None:
        if timer.account is None:
            return
        for enrollment in step.world.enrollments(timer.account):
            if enrollment.id == timer.enrollment and enrollment.active:
                break
        else:
            return
        for token in enrollment.tokens:
            if token.id == timer.token:
                break
        else:
            return
        if token.timer != timer.id:
            return
        journey = self.workspace.versions[(enrollment.journey, enrollment.version)]
        account = step.world.account(timer.account)
        assert account is not None
        node = journey.node(token.node)
        runner = PathRunner(self, step, journey, enrollment, account)
        step.touched[timer.account] = None
        if token.state == "listen":
            runner.resume(token, node.on_timeout, "timeout")
        else:
            runner.resume(token, node.next, "wait over")
