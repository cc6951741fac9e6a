"""Moving an enrollment's paths through the graph: each node kind's meaning.

Paths (tokens) run depth-first: a people split runs its branches in the order it lists them,
each until it waits, ends or reaches a merge, then the next branch. A merge continues once every
still-running path forked by the same people split has arrived, with the union of their people.
"""

from __future__ import annotations

import hashlib
from collections import deque
from datetime import datetime
from typing import TYPE_CHECKING, Any

from itinera.conditions import Condition, evaluate, explain
from itinera.definitions.models import Node
from itinera.domain.model import Account, Enrollment, Event, Person, Token
from itinera.engine.actions import ActionContext, run_action
from itinera.storage.store import Timer
from itinera.timeutil import format_instant, parse_data_instant, parse_duration, parse_instant

if TYPE_CHECKING:
    from itinera.engine.catalog import CompiledJourney
    from itinera.engine.core import EngineCore
    from itinera.engine.step import Step

__all__ = ["PathRunner", "experiment_bucket"]


def experiment_bucket(journey: str, node: str, account: str) -> float:
    """The stable draw in [0, 1) for one enrollment at one experiment (docs/reference/journeys.md,
    "Experiments")."""
    digest = hashlib.sha256(f"{journey}:{node}:{account}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32


class PathRunner:
    """Runs the paths of one enrollment within one step."""

    __slots__ = ("account", "engine", "enrollment", "journey", "queue", "step")

    def __init__(self, engine: EngineCore, step: Step, journey: CompiledJourney,
                 enrollment: Enrollment, account: Account) -> None:
        self.engine = engine
        self.step = step
        self.journey = journey
        self.enrollment = enrollment
        self.account = account
        self.queue: deque[Token] = deque()

    # -- bookkeeping -----------------------------------------------------------------------
    def history(self, node: str | None, **entry: Any) -> None:
        self.engine.history(self.enrollment.id, self.step.now, node, entry)

    def touch(self) -> None:
        self.step.world.touch_enrollment(self.enrollment)

    def new_token(self, node: str, people: list[str], forks: list[int]) -> Token:
        token = Token(id=self.enrollment.next_token, node=node, people=people, forks=forks)
        self.enrollment.next_token += 1
        self.enrollment.tokens.append(token)
        return token

    def end_token(self, token: Token, why: str) -> None:
        if token in self.enrollment.tokens:
            self.enrollment.tokens.remove(token)
        self.history(token.node, event="path_ended", why=why)

    def set_timer(self, token: Token, due: datetime, purpose: str) -> None:
        timer = Timer(id=0, due_at=due, kind="wake", account=self.account.id,
                      enrollment=self.enrollment.id, token=token.id, journey=self.journey.id,
                      payload={"purpose": purpose})
        self.engine.store.add_timer(timer)
        token.timer = timer.id

    # -- running -----------------------------------------------------------------------------
    def start(self, people: list[str]) -> None:
        token = self.new_token(self.journey.definition.start, people, [])
        self.queue.append(token)
        self.run()

    def resume(self, token: Token, next_node: str | None, why: str,
               values: dict[str, Any] | None = None) -> None:
        """Continue a waiting path on ``next_node`` (ending it when there is none);
        ``values``: what the condition that woke it read."""
        token.state, token.timer, token.since = "run", None, None
        if values:
            self.history(token.node, event="resumed", why=why, next=next_node, values=values)
        else:
            self.history(token.node, event="resumed", why=why, next=next_node)
        if next_node is None:
            self.end_token(token, why)
        else:
            token.node = next_node
            self.queue.append(token)
        self.run()

    def run(self) -> None:
        self.join_merges()
        while self.queue and self.enrollment.active:
            token = self.queue.popleft()
            self.advance(token)
            self.join_merges()
        if self.enrollment.active and not self.enrollment.tokens:
            self.engine.end_enrollment(self.step, self.enrollment, "completed", "completed")
        # Marked changed after the paths moved: a flush of the world while actions ran (some
        # reads need one) must not leave the later changes unsaved.
        self.touch()

    def advance(self, token: Token) -> None:
        """Move ``token`` forward until it waits, ends, forks or reaches a merge."""
        steps = 0
        while self.enrollment.active:
            steps += 1
            if steps > 10_000:
                raise RuntimeError(f"journey {self.journey.id!r} loops without waiting")
            node = self.journey.node(token.node)
            if node.merge is None:
                self.enrollment.path.append(token.node)
            next_node = self.enter(token, node)
            if next_node is _STOP:
                return
            if next_node is None:
                self.end_token(token, "no next node")
                return
            assert isinstance(next_node, str)
            token.node = next_node

    def enter(self, token: Token, node: Node) -> str | object | None:
        """Run ``node`` for ``token``; the next node, None to end the path, or _STOP."""
        kind = self.journey.kinds[token.node]
        now = self.step.now
        if kind == "do":
            return self.do(token, node)
        if kind == "split":
            return self.split(token, node)
        if kind == "split_people":
            self.split_people(token, node)
            return _STOP
        if kind == "merge":
            token.state = "merge"
            return _STOP
        if kind == "wait":
            assert node.wait is not None
            token.state, token.since = "wait", now  # since: a move recomputes from it
            self.set_timer(token, now + parse_duration(node.wait), "wait")
            return _STOP
        if kind == "wait_until":
            due = self.wait_until_instant(node)
            if due is None or due <= now:
                self.history(token.node, decision="wait_until", due=format_instant(due),
                             next=node.next, why="already past" if due else "no date")
                return node.next
            token.state, token.since = "wait", now
            self.set_timer(token, due, "wait")
            return _STOP
        if kind == "wait_for":
            return self.wait_for(token, node)
        if kind == "experiment":
            return self.experiment(token, node)
        return None  # end

    def do(self, token: Token, node: Node) -> str | object | None:
        ctx = ActionContext(self.engine, self.step, self.journey, self.enrollment, self.account,
                            token.node, len(self.enrollment.path) - 1, list(token.people))
        results = [run_action(ctx, i, action) for i, action in enumerate(node.do or [])]
        self.history(token.node, decision="actions", actions=results)
        # The goal and exit checks run once after a node's actions, before the path goes on.
        if self.engine.check_exit_and_goal(self.step, self.journey, self.enrollment, self.account):
            return _STOP
        return node.next

    def split(self, token: Token, node: Node) -> str | None:
        facts = self.step.world.facts(self.account)
        tested: list[Condition] = []  # the branches' conditions read before the decision
        for i, branch in enumerate(node.split or []):
            if branch.else_ is not None:
                self.history(token.node, decision="split", branch="else", next=branch.else_,
                             values=self.values(tested))
                return branch.else_
            condition = self.journey.branch_conditions[(token.node, i)]
            tested.append(condition)
            if evaluate(condition, facts, self.step.now):
                self.history(token.node, decision="split", branch=i, when=branch.when,
                             next=branch.next, values=self.values(tested))
                return branch.next
        self.history(token.node, decision="split", branch=None, why="no branch matched",
                     values=self.values(tested))
        return None

    def values(self, conditions: list[Condition], person: Person | None = None) -> dict[str, Any]:
        """What ``conditions`` read, for the history; nothing when no history is kept."""
        if not self.engine.record_history:
            return {}
        facts = self.step.world.facts(self.account)
        seen: dict[str, Any] = {}
        for condition in conditions:
            seen.update(explain(condition, facts, self.step.now, person))
        return seen

    def split_people(self, token: Token, node: Node) -> None:
        facts = self.step.world.facts(self.account)
        branches = node.split_people or []
        groups: list[list[str]] = [[] for _ in branches]
        for person in self.step.world.people(self.account.id):
            if person.id not in token.people:
                continue
            for i, branch in enumerate(branches):
                if branch.else_ is not None or evaluate(
                    self.journey.branch_conditions[(token.node, i)], facts, self.step.now, person
                ):
                    groups[i].append(person.id)
                    break
        conditions = [self.journey.branch_conditions[(token.node, i)]
                      for i, b in enumerate(branches) if b.else_ is None]
        self.history(token.node, decision="split_people",
                     branches=[{"next": b.else_ or b.next, "people": g}
                               for b, g in zip(branches, groups, strict=True)],
                     values={p.id: self.values(conditions, p)
                             for p in self.step.world.people(self.account.id)
                             if p.id in token.people} if self.engine.record_history else {})
        self.enrollment.tokens.remove(token)
        fork = self.enrollment.next_fork
        self.enrollment.next_fork += 1
        children = [self.new_token(str(b.else_ or b.next), g, [*token.forks, fork])
                    for b, g in zip(branches, groups, strict=True) if g]
        self.queue.extendleft(reversed(children))

    def wait_until_instant(self, node: Node) -> datetime | None:
        spec = node.wait_until
        assert spec is not None
        if spec.at is not None:
            base: datetime | None = parse_instant(spec.at)
        else:
            assert spec.date is not None
            name = spec.date.split(".", 1)[1].removeprefix("attributes.")
            raw = self.account.created_at if name == "created_at" else self.account.attributes.get(name)
            base = parse_data_instant(raw)
        if base is not None and spec.offset:
            base += parse_duration(spec.offset)
        return base

    def wait_for(self, token: Token, node: Node) -> str | object | None:
        spec = node.wait_for
        assert spec is not None
        condition = self.journey.wait_for_conditions.get(token.node)
        if condition is not None and evaluate(
            condition, self.step.world.facts(self.account), self.step.now
        ):
            self.history(token.node, decision="wait_for", why="condition already holds",
                         next=node.next, values=self.values([condition]))
            return node.next
        token.state, token.since = "listen", self.step.now
        self.step.listen(self.enrollment.id, token.id)
        if spec.timeout is not None:
            self.set_timer(token, self.step.now + parse_duration(spec.timeout), "timeout")
        return _STOP

    def experiment(self, token: Token, node: Node) -> str | None:
        spec = node.experiment
        assert spec is not None
        u = experiment_bucket(self.journey.id, token.node, self.account.id)
        total = sum(v.weight for v in spec.variants)
        cumulative = 0.0
        chosen = spec.variants[-1]
        for variant in spec.variants:
            cumulative += variant.weight
            if cumulative / total > u:
                chosen = variant
                break
        self.enrollment.variants[spec.name] = chosen.name
        self.history(token.node, decision="experiment", experiment=spec.name,
                     variant=chosen.name, draw=round(u, 6), next=chosen.next)
        return chosen.next

    # -- listening and merging ---------------------------------------------------------------
    def event_matches(self, token: Token, node: Node, event: Event) -> bool:
        spec = node.wait_for
        assert spec is not None
        if event.type not in spec.events:
            return False
        if spec.scope == "path_people" and event.person not in token.people:
            return False
        where = self.journey.wait_for_where.get(token.node)
        if where is not None:
            facts = self.step.world.facts(self.account)
            if not evaluate(where, facts, self.step.now, event=event):
                return False
        return True

    def join_merges(self) -> None:
        """Continue every merge whose awaited paths have all arrived or ended.

        A path at a merge waits while another path of its innermost people-split fork may
        still arrive (see ``awaiting``). When the whole fork is here, the paths join into one
        with the union of their people and the fork closes; the joined path then does the
        same for the enclosing fork. When the rest of the fork is bound for a merge further
        down, the paths here go on together with the fork still open. A merge is recorded in
        the path once, when it continues.
        """
        for token in self.enrollment.tokens:
            if token.state == "merge":
                break
        else:
            return  # the common case: no path is at a merge
        progressed = True
        while progressed and self.enrollment.active:
            progressed = False
            for token in list(self.enrollment.tokens):
                if token.state != "merge":
                    continue
                if not token.forks:
                    self.pass_merge(token)
                elif self.awaiting(token):
                    continue
                elif self.whole_fork_here(token):
                    self.join(token, close_fork=True)  # the joined path may close an outer fork
                else:  # the rest of the fork meets further down: go on together, fork open
                    self.pass_merge(self.join(token, close_fork=False))
                progressed = True
                break

    def awaiting(self, token: Token) -> bool:
        """Whether the merge must still wait for another path of ``token``'s innermost fork.

        It waits for a path that can still reach it, and for a path that will end without
        reaching any merge (the reference's "has arrived or ended"); it does not wait for a path
        bound for a merge further down, where the two meet instead (waiting would deadlock).
        """
        fork, merge = token.forks[-1], token.node
        later_merges = self.journey.merges_after(merge)
        for k in self.enrollment.tokens:
            if fork not in k.forks or (k.state == "merge" and k.node == merge):
                continue
            if self.journey.reaches(k.node, merge):
                return True
            if not any(self.journey.reaches(k.node, later) for later in later_merges):
                return True
        return False

    def whole_fork_here(self, token: Token) -> bool:
        fork = token.forks[-1]
        return all(k.state == "merge" and k.node == token.node
                   for k in self.enrollment.tokens if fork in k.forks)

    def join(self, token: Token, close_fork: bool) -> Token:
        fork = token.forks[-1]
        arrived = [k for k in self.enrollment.tokens
                   if fork in k.forks and k.state == "merge" and k.node == token.node]
        order = {p.id: p.seq for p in self.step.world.people(self.account.id)}
        people = sorted({p for k in arrived for p in k.people}, key=lambda p: order.get(p, 1 << 62))
        for k in arrived:
            self.enrollment.tokens.remove(k)
        forks = token.forks[:token.forks.index(fork)] if close_fork else list(token.forks)
        merged = self.new_token(token.node, people, forks)
        merged.state = "merge"
        self.history(token.node, decision="merge", joined=len(arrived), people=people)
        return merged

    def pass_merge(self, token: Token) -> None:
        node = self.journey.node(token.node)
        self.enrollment.path.append(token.node)
        token.state = "run"
        if node.next is None:
            self.end_token(token, "no next node")
        else:
            token.node = node.next
            self.queue.appendleft(token)


_STOP = object()
