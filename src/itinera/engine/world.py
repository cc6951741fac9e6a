"""The world as one step sees it: records loaded once from the store, changed in memory, and
written back together at the end of the step (``flush``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from itinera.domain.model import Account, BuyingGroup, Enrollment, Event, Person
from itinera.domain.scores import completeness_score, engagement_score
from itinera.engine.catalog import Workspace
from itinera.storage.store import Store

__all__ = ["AccountFacts", "World"]


class World:
    """An identity map over the store for a batch of steps. An exclusive store's world is
    kept for the next batch (``reopen``): every change to its records went through it."""

    def __init__(self, store: Store, workspace: Workspace, now: datetime) -> None:
        self.store = store
        self.workspace = workspace
        self.now = now
        self._accounts: dict[str, Account | None] = {}
        self._people: dict[str, list[Person]] = {}
        self._groups: dict[str, list[BuyingGroup]] = {}
        self._segments: dict[str, set[str]] = {}
        self._enrollments: dict[str, list[Enrollment]] = {}
        self._person_index: dict[str, Person] = {}
        self._events: dict[str, list[Event]] = {}
        self._latest_loaded: set[str] = set()  # accounts whose latest enrollments are cached
        self._dirty_accounts: dict[str, Account] = {}
        self._dirty_people: dict[str, Person] = {}
        self._dirty_groups: dict[tuple[str, str], BuyingGroup] = {}
        self._dirty_enrollments: dict[int, Enrollment] = {}
        self._deleted_people: set[str] = set()
        # People a prefetch asked for by id and the store did not have (a new person's
        # upsert): none until one is created here. Kept for the batch only.
        self._unknown_people: set[str] = set()
        self._ended: set[str] = set()  # accounts whose enrollments ended since the batch began
        self._sequenced: set[str] = set()  # accounts whose new people or groups got their seq

    @property
    def size(self) -> int:
        """How many records it holds: accounts, and people (those without an account too)."""
        return len(self._accounts) + len(self._person_index)

    def reopen(self, workspace: Workspace) -> None:
        """Begin another batch over the records of the last one, committed since.

        They are what loading them again would give — but events, read afresh; ended
        enrollments, dropped as a load drops them (each journey's latest one stays: it decides
        re-enrollment); and people and groups new in the last batch, placed in the order of
        the seq they were given when written (new ones were appended as they came)."""
        assert not (self._dirty_accounts or self._dirty_people or self._dirty_groups
                    or self._dirty_enrollments or self._deleted_people), "reopened unflushed"
        self.workspace = workspace
        self._events.clear()
        self._unknown_people.clear()
        for account in self._ended:
            enrollments = self._enrollments.get(account)
            if enrollments is not None:
                latest: dict[str, int] = {}
                for e in enrollments:
                    latest[e.journey] = max(e.id, latest.get(e.journey, e.id))
                self._enrollments[account] = [e for e in enrollments
                                              if e.active or latest[e.journey] == e.id]
        self._ended.clear()
        for account in self._sequenced:
            if account in self._people:
                self._people[account].sort(key=lambda p: p.seq)
            if account in self._groups:
                self._groups[account].sort(key=lambda g: g.seq)
        self._sequenced.clear()

    def prefetch(self, ids: Sequence[str], people: Sequence[str] = ()) -> None:
        """Load many accounts' records in a few queries (before acting on all of them); and
        those of the accounts of ``people`` (ids of people: events that name only a person)."""
        missing = [i for i in ids if i not in self._accounts]
        persons = [p for p in people
                   if p not in self._person_index and p not in self._deleted_people]
        if not missing and not persons:
            return
        self.flush()
        records = self.store.load_accounts(missing, persons)
        reached = [p.account for p in records.persons.values() if p.account is not None]
        for id in dict.fromkeys([*missing, *reached]):
            if id in self._accounts:  # reached through a person, and loaded before
                continue
            self._accounts[id] = records.accounts.get(id)
            if id not in self._people:
                loaded = self._people[id] = records.people.get(id, [])
                for person in loaded:
                    self._person_index.setdefault(person.id, person)
            self._groups.setdefault(id, records.groups.get(id, []))
            self._segments.setdefault(id, records.segments.get(id, set()))
            if id not in self._enrollments:
                self._enrollments[id] = records.enrollments.get(id, [])
                self._latest_loaded.add(id)
        for person in records.persons.values():
            if person.account is None:  # the others are indexed with their account's people
                self._person_index.setdefault(person.id, person)
        self._unknown_people.update(p for p in persons if p not in records.persons)

    # -- reading ---------------------------------------------------------------------------
    def loaded(self, account: str) -> bool:
        """Whether the account's record is in memory (read, prefetched or created)."""
        return account in self._accounts

    def account(self, id: str) -> Account | None:
        if id not in self._accounts:
            self._accounts[id] = self.store.account(id)
        return self._accounts[id]

    def people(self, account: str) -> list[Person]:
        if account not in self._people:
            people = self._people[account] = self.store.people_of(account)
            for person in people:
                self._person_index.setdefault(person.id, person)
        return self._people[account]

    def person(self, id: str) -> Person | None:
        if id in self._person_index:
            return self._person_index[id]
        if id in self._deleted_people or id in self._unknown_people:
            return None
        found = self.store.person(id)
        if found is not None and found.account is not None:
            found = next((p for p in self.people(found.account) if p.id == id), found)
        if found is not None:
            self._person_index[id] = found
        return found

    def events(self, account: str, type: str) -> list[Event]:
        """The account's events of ``type`` (its own and its people's), in arrival order."""
        if account not in self._events:
            self.flush()
            self._events[account] = self.store.events_of(account)
        return [e for e in self._events[account] if e.type == type]

    def add_event(self, event: Event) -> None:
        self.store.add_event(event)
        owner = event.account
        if owner is None and event.person is not None:
            person = self.person(event.person)
            owner = person.account if person is not None else None
        if owner is not None and owner in self._events:
            self._events[owner].append(event)

    def groups(self, account: str) -> list[BuyingGroup]:
        if account not in self._groups:
            self._groups[account] = self.store.buying_groups_of(account)
        return self._groups[account]

    def segments(self, account: str) -> set[str]:
        if account not in self._segments:
            self._segments[account] = self.store.segments_of(account)
        return self._segments[account]

    def enrollments(self, account: str) -> list[Enrollment]:
        """The account's enrollments that were active when the step began, and new ones."""
        if account not in self._enrollments:
            self._enrollments[account] = self.store.active_enrollments(account)
        return self._enrollments[account]

    def last_enrollment(self, journey: str, account: str) -> Enrollment | None:
        """The account's latest enrollment in ``journey`` (for re-enrollment rules)."""
        cached = [e for e in self.enrollments(account) if e.journey == journey]
        if cached:
            return max(cached, key=lambda e: e.id)
        if account in self._latest_loaded:
            return None
        return self.store.last_enrollment(journey, account)

    def facts(self, account: Account) -> AccountFacts:
        return AccountFacts(self, account)

    # -- writing ---------------------------------------------------------------------------
    def add_account(self, account: Account) -> None:
        """A new account. People may have been linked to its id before it existed (an upsert
        of the person first): they are its people from the start."""
        self._accounts[account.id] = account
        if account.id not in self._people:
            self.people(account.id)
        self._groups.setdefault(account.id, [])
        self._segments.setdefault(account.id, set())
        self._enrollments.setdefault(account.id, [])
        self._latest_loaded.add(account.id)
        self.touch_account(account)

    def touch_account(self, account: Account) -> None:
        self._dirty_accounts[account.id] = account

    def touch_person(self, person: Person) -> None:
        self._dirty_people[person.id] = person
        self._unknown_people.discard(person.id)

    def move_person(self, person: Person, old_account: str | None) -> None:
        """Place ``person`` in its account's list after a (re)link or creation."""
        self._person_index[person.id] = person
        self._deleted_people.discard(person.id)
        self._unknown_people.discard(person.id)
        for account in (old_account, person.account):
            if account is not None:
                self._events.pop(account, None)  # whose events count for whom has changed
        if old_account is not None and old_account in self._people:
            self._people[old_account] = [p for p in self._people[old_account] if p.id != person.id]
        if person.account is not None:
            people = self.people(person.account)
            at = next((i for i, p in enumerate(people) if p.id == person.id), None)
            if at is None:
                people.append(person)
                people.sort(key=lambda p: (p.seq == 0, p.seq))
            else:  # the list may hold an older object of the same person (a world reload)
                people[at] = person
        self.touch_person(person)

    def remove_person(self, person: Person) -> None:
        self._person_index.pop(person.id, None)
        if person.account is not None:
            self._people[person.account] = [p for p in self.people(person.account)
                                            if p.id != person.id]
        self._dirty_people.pop(person.id, None)
        self._deleted_people.add(person.id)

    def touch_group(self, group: BuyingGroup) -> None:
        self._dirty_groups[(group.account, group.solution)] = group

    def add_group(self, group: BuyingGroup) -> None:
        self.groups(group.account).append(group)
        self.touch_group(group)

    def touch_enrollment(self, enrollment: Enrollment) -> None:
        self._dirty_enrollments[enrollment.id] = enrollment

    def add_enrollment(self, enrollment: Enrollment) -> None:
        self.enrollments(enrollment.account).append(enrollment)
        self.touch_enrollment(enrollment)

    def replace_segments(self, memberships: dict[str, set[str]]) -> None:
        """Take memberships computed in the store (set-wise) as the cached ones."""
        for account, members in memberships.items():
            self._segments[account] = set(members)

    def set_segments(self, account: str, members: set[str]) -> None:
        current = self.segments(account)
        for segment in members - current:
            self.store.set_membership(account, segment, True)
        for segment in current - members:
            self.store.set_membership(account, segment, False)
        self._segments[account] = set(members)

    def rescore_groups(self, account: str) -> list[BuyingGroup]:
        """Recompute the account's buying-group scores; returns the groups that changed."""
        scores = {p.id: p.score for p in self.people(account)}
        changed = []
        for group in self.groups(account):
            template = self.workspace.role_templates.get(group.template or "")
            engagement = engagement_score(group, template, scores)
            completeness = completeness_score(group, template)
            if (engagement, completeness) != (group.engagement_score, group.completeness_score):
                group.engagement_score, group.completeness_score = engagement, completeness
                self.touch_group(group)
                changed.append(group)
        return changed

    def flush(self) -> None:
        for account in self._dirty_accounts.values():
            self.store.save_account(account)
        for person_id in self._deleted_people:
            self.store.delete_person(person_id)
        for person in self._dirty_people.values():
            if not person.seq and person.account is not None:
                self._sequenced.add(person.account)
            self.store.save_person(person)
        for group in self._dirty_groups.values():
            if not group.seq:
                self._sequenced.add(group.account)
            self.store.save_buying_group(group)
        # Active ones first: most saves of those are the same statement (their paths moved,
        # see ``SqlStore.save_enrollment``), sent together.
        for enrollment in sorted(self._dirty_enrollments.values(),
                                 key=lambda e: (not e.active, e.id)):
            self.store.save_enrollment(enrollment)
            if not enrollment.active:
                self._ended.add(enrollment.account)
        self._dirty_accounts.clear()
        self._dirty_people.clear()
        self._dirty_groups.clear()
        self._dirty_enrollments.clear()
        self._deleted_people.clear()


class AccountFacts:
    """What conditions read about one account (the ``Facts`` protocol)."""

    def __init__(self, world: World, account: Account) -> None:
        self.world = world
        self._account = account

    @property
    def account(self) -> Account:
        return self._account

    def people(self) -> Sequence[Person]:
        return self.world.people(self._account.id)

    def buying_groups(self) -> Sequence[BuyingGroup]:
        return self.world.groups(self._account.id)

    def segments(self) -> set[str]:
        return self.world.segments(self._account.id)

    def events(self, type: str) -> Sequence[Event]:
        return self.world.events(self._account.id, type)
