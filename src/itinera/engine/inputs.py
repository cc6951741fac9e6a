"""Data inputs to the engine: events, upserts, deletions, buying-group members. Each is one
step of the core."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from itinera.domain.model import Account, Event, Person
from itinera.engine.actions import add_to_buying_group
from itinera.engine.core import EngineCore, EngineError
from itinera.engine.step import Step
from itinera.engine.world import World

__all__ = ["Inputs"]


class Inputs(EngineCore):
    def ingest(self, event: Event, now: datetime) -> bool:
        """Record an event and react to it; False when its id was already known."""
        if self.store.has_event(event.id):
            return False

        def apply(step: Step) -> None:
            world = step.world
            person = world.person(event.person) if event.person else None
            account_id = event.account or (person.account if person else None)
            world.add_event(event)
            if account_id is None or world.account(account_id) is None:
                return  # kept; it counts for the account once the person is linked
            step.mark(account_id, event)
            rule = self.workspace.scoring.get(event.type)
            if person is not None and person.account is not None and rule:
                self.change_score(step, person, rule, f"rule:{event.id}:{person.id}")

        self._step(now, apply)
        return True

    def upsert_account(self, id: str, now: datetime, attributes: dict[str, Any] | None = None,
                       people: Sequence[str] = (), **builtins: Any) -> bool:
        """Create or merge an account, and link ``people`` to it (created when unknown), in
        one step: the segments and entries see the account with its people. False when
        nothing changed. Built-ins: csm, created_at, playbooks."""
        def apply(step: Step) -> bool:
            changed = self._apply_account(step, id, attributes, builtins)
            for person in people:
                changed = self._apply_person(step, person, {"account": id}) or changed
            return changed

        return bool(self._step(now, apply))

    def _apply_account(self, step: Step, id: str, attributes: dict[str, Any] | None,
                       builtins: dict[str, Any]) -> bool:
        world = step.world
        account = world.account(id)
        if account is None:
            account = Account(id=id, attributes=dict(attributes or {}),
                              created_at=builtins.get("created_at") or step.now,
                              csm=builtins.get("csm"),
                              playbooks=list(builtins.get("playbooks") or []))
            world.add_account(account)
            step.mark(id)
            return True
        before = (dict(account.attributes), account.csm, account.created_at,
                  list(account.playbooks))
        account.attributes.update(attributes or {})
        for name in ("csm", "created_at", "playbooks"):
            if name in builtins:
                setattr(account, name, builtins[name])
        after = (account.attributes, account.csm, account.created_at, account.playbooks)
        if before == after:
            return False
        world.touch_account(account)
        step.mark(id)
        return True

    def upsert_person(self, id: str, now: datetime, **fields: Any) -> bool:
        """Create or merge a person; fields: account, email, attributes, unsubscribed, score."""
        return bool(self._step(now, lambda step: self._apply_person(step, id, fields)))

    def _apply_person(self, step: Step, id: str, fields: dict[str, Any]) -> bool:
        world = step.world
        person = world.person(id)
        created = person is None
        if person is None:
            person = Person(id=id, account=None, email=None, attributes={})
        before = (person.account, person.email, dict(person.attributes), person.unsubscribed,
                  person.score)
        old_account = person.account
        person.attributes.update(fields.get("attributes") or {})
        for name in ("account", "email", "unsubscribed", "score"):
            if name in fields:
                setattr(person, name, fields[name])
        after = (person.account, person.email, person.attributes, person.unsubscribed,
                 person.score)
        if not created and before == after:
            return False
        world.move_person(person, old_account)
        for account_id in {old_account, person.account} - {None}:
            assert account_id is not None
            if world.account(account_id) is not None:
                self._drop_from_groups(world, person.id, account_id,
                                       keep=account_id == person.account)
                world.rescore_groups(account_id)
                step.mark(account_id)
        return True

    def _drop_from_groups(self, world: World, person: str, account: str, keep: bool) -> None:
        if keep:
            return
        for group in world.groups(account):
            if any(m.person == person for m in group.members):
                group.members = [m for m in group.members if m.person != person]
                world.touch_group(group)

    def delete_person(self, id: str, now: datetime) -> bool:
        def apply(step: Step) -> bool:
            world = step.world
            person = world.person(id)
            if person is None:
                return False
            world.remove_person(person)
            if person.account is not None:
                self._drop_from_groups(world, id, person.account, keep=False)
                world.rescore_groups(person.account)
                step.mark(person.account)
            return True

        return bool(self._step(now, apply))

    def add_to_buying_group(self, account: str, solution: str, person: str, role: str,
                            template: str | None, now: datetime) -> None:
        def apply(step: Step) -> None:
            found = step.world.account(account)
            member = step.world.person(person)
            if found is None or member is None:
                raise EngineError(f"no account {account!r} with a person {person!r}")
            add_to_buying_group(self, step, found, solution, role, template, [member])

        self._step(now, apply)
