"""The journey lifecycle: publish versions; enable, pause, resume and disable journeys."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from itinera.definitions.models import Journey
from itinera.domain.journey_status import after
from itinera.engine.catalog import CompiledJourney, JourneyState
from itinera.engine.core import EngineCore, EngineError
from itinera.engine.moves import apply_moves, plan_moves
from itinera.engine.step import Step

__all__ = ["Lifecycle"]


class Lifecycle(EngineCore):
    def publish(self, journey: Journey, now: datetime,
                moves: Mapping[str, str | None] | None = None, move_matching: bool = False,
                source: str | None = None, by: str | None = None) -> int:
        """Store a new version; new enrollments take it, running ones keep theirs — unless
        ``moves`` (old node → new node) or ``move_matching`` (nodes of the same id) move the
        enrollments of the version it replaces that wait at mapped nodes, in the same step
        (``engine.moves``). ``source``: the text it was published from; ``by``: who published
        it (kept with the version)."""
        previous = self.workspace.states.get(journey.id)
        replaced = previous.version if previous is not None else None
        known = [v for (j, v) in self.workspace.versions if j == journey.id]
        version = journey.version if journey.version and not known else max(known, default=0) + 1
        with self.store.transaction():
            definition = journey.model_dump(mode="json", by_alias=True, exclude_none=True)
            self.store.put_journey_version(journey.id, version, definition, now, source, by)
            self.workspace.versions[(journey.id, version)] = CompiledJourney.compile(journey, version)
            state = self.workspace.states.setdefault(journey.id, JourneyState())
            state.version = version
            self._save_state(journey.id)
        if replaced is not None and (moves or move_matching):
            old = self.workspace.versions[(journey.id, replaced)].definition
            plan = plan_moves(old, journey, moves, move_matching)
            # Entries the store's version no longer fits (checked when received, against the
            # version then current) move nothing: the rest of the plan still applies.
            self._step(now, lambda step: apply_moves(self, step, journey.id, replaced, version,
                                                     plan))
        return version

    def _save_state(self, journey: str) -> None:
        state = self.workspace.states[journey]
        self.store.put_config("journey_state", journey, {
            "status": state.status, "version": state.version, "enabled_seq": state.enabled_seq})

    def _state(self, journey: str) -> JourneyState:
        if journey not in self.workspace.states:
            raise EngineError(f"no journey {journey!r}")
        return self.workspace.states[journey]

    def enable(self, journey_id: str, now: datetime) -> None:
        state = self._state(journey_id)
        if after("enable", state.status) is None:
            return
        if state.status == "paused":  # its held timers must run: that is resuming
            self.resume(journey_id, now)
            return
        state.status = "enabled"
        state.enabled_seq = self.store.next_value("seq:enable")
        journey = self.workspace.current(journey_id)

        def apply(step: Step) -> None:
            self._save_state(journey_id)
            if not journey.definition.entry.existing:
                return
            members: set[str] = set()
            for segment in journey.definition.entry.segments:
                members.update(self.store.segment_members(segment))
            step.world.prefetch(sorted(members))
            for account_id in sorted(members):
                self._enroll(step, journey, account_id, {"existing": True})

        self._step(now, apply)

    def pause(self, journey_id: str, now: datetime) -> None:
        state = self._state(journey_id)
        if after("pause", state.status) is not None:
            state.status = "paused"
            with self.store.transaction():
                self._save_state(journey_id)

    def resume(self, journey_id: str, now: datetime) -> None:
        state = self._state(journey_id)
        if after("resume", state.status) is None:
            return
        state.status = "enabled"
        with self.store.transaction():
            self._save_state(journey_id)
            held = self.store.held_timers(journey_id)
        for timer in held:  # in due order, at the resume instant
            timer.held = False
            self._fire(timer, now)

        def recheck(step: Step) -> None:
            step.world.flush()
            for enrollment in self.store.active_enrollments_of_journey(journey_id):
                step.mark(enrollment.account)

        self._step(now, recheck)

    def disable(self, journey_id: str, now: datetime) -> None:
        state = self._state(journey_id)
        if after("disable", state.status) is None:
            return
        state.status = "disabled"

        def apply(step: Step) -> None:
            self._save_state(journey_id)
            step.world.flush()
            for enrollment in self.store.active_enrollments_of_journey(journey_id):
                cached = next((e for e in step.world.enrollments(enrollment.account)
                               if e.id == enrollment.id), enrollment)
                self.end_enrollment(step, cached, "unenrolled", "disabled")

        self._step(now, apply)
