"""What each action of a ``do`` node does. Effects carry an idempotency key made of the
enrollment, the position of the node visit in its path, the action's index and the person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from itinera.conditions import evaluate
from itinera.definitions.models import Action
from itinera.domain.model import Account, BuyingGroup, Enrollment, Event, Member, Person, Template
from itinera.engine.render import RenderError, account_context, csm_context, person_context
from itinera.storage.store import Effect
from itinera.timeutil import format_instant, parse_duration

if TYPE_CHECKING:
    from itinera.engine.catalog import CompiledJourney
    from itinera.engine.core import EngineCore
    from itinera.engine.step import Step

__all__ = ["ActionContext", "run_action"]


@dataclass(slots=True)
class ActionContext:
    engine: EngineCore
    step: Step
    journey: CompiledJourney
    enrollment: Enrollment
    account: Account
    node: str
    visit: int  # index of this node visit in the enrollment's path
    people: list[str]

    def values(self, person: Person | None = None, role: str | None = None) -> dict[str, Any]:
        values: dict[str, Any] = {
            "account": account_context(self.account),
            "csm": csm_context(self.engine.workspace.csms.get(self.account.csm or "")),
        }
        if self.enrollment.event is not None:
            values["event"] = self.enrollment.event
        if person is not None:
            values["person"] = person_context(person)
            values["buying_group"] = {"role": role if role is not None else self._role(person)}
        return values

    def _role(self, person: Person) -> str | None:
        for group in self.step.world.groups(self.account.id):
            for member in group.members:
                if member.person == person.id:
                    return member.role
        return None

    def render(self, value: Any, person: Person | None = None) -> Any:
        return self.engine.renderer.render_value(value, self.values(person))

    def key(self, index: int, person: str | None = None) -> str:
        return f"{self.enrollment.id}:{self.visit}:{index}:{person or '-'}"

    def effect(self, index: int, channel: str, status: str, person: str | None = None,
               at: datetime | None = None, **payload: Any) -> None:
        """Record an effect of this action; ``at``: when it is to leave, if later than now."""
        self.engine.store.add_effect(Effect(
            key=self.key(index, person), channel=channel, status=status,
            at=at or self.step.now,
            journey=self.journey.id, node=self.node, account=self.account.id, person=person,
            payload=payload))

    def targets(self, index: int, to: Any) -> list[Person]:
        """The people an action acts on, in the order they were added to the account."""
        world = self.step.world
        everyone = world.people(self.account.id)
        if to == "all":
            return list(everyone)
        on_path = set(self.people)
        path_people = [p for p in everyone if p.id in on_path]
        if to is None or to == "path_people":
            return path_people
        if isinstance(to, dict) and "role" in to:
            holders = {m.person for g in world.groups(self.account.id) for m in g.members
                       if m.role == to["role"]}
            return [p for p in path_people if p.id in holders]
        condition = self.journey.target_conditions[(self.node, index)]
        facts = world.facts(self.account)
        return [p for p in path_people if evaluate(condition, facts, self.step.now, p)]


def _attribute(path: str) -> str:
    return path.split(".", 1)[1].removeprefix("attributes.")


def _set(ctx: ActionContext, name: str, value: Any) -> None:
    account = ctx.account
    if name == "csm":
        account.csm = value
    else:
        account.attributes[name] = value


def _get(ctx: ActionContext, name: str) -> Any:
    return ctx.account.csm if name == "csm" else ctx.account.attributes.get(name)


def run_action(ctx: ActionContext, index: int, action: Action) -> dict[str, Any]:
    """Run one action; returns what it decided, for the enrollment's history.

    A template that cannot render skips the action (recorded) rather than stopping the journey.
    """
    try:
        return _run_action(ctx, index, action)
    except RenderError as error:
        return {"action": action.kind, "skipped": str(error)}


def _run_action(ctx: ActionContext, index: int, action: Action) -> dict[str, Any]:
    kind, spec = action.kind, action.spec
    world, now, account = ctx.step.world, ctx.step.now, ctx.account
    changed_account = True
    result: dict[str, Any] = {"action": kind}
    if kind == "set":
        before = dict(account.attributes), account.csm
        try:
            for path, value in spec.items():  # in order: a value may render one set before it
                _set(ctx, _attribute(path), ctx.render(value))
        except RenderError:  # skipped whole: no value set before the one that failed stays
            account.attributes.clear()
            account.attributes.update(before[0])
            account.csm = before[1]
            raise
    elif kind == "copy":
        _set(ctx, _attribute(spec["to"]), _get(ctx, _attribute(spec["from"])))
    elif kind == "clear":
        for path in [spec] if isinstance(spec, str) else spec:
            name = _attribute(path)
            if name == "csm":
                account.csm = None
            else:
                account.attributes.pop(name, None)
    elif kind == "increase":
        for path, by in spec.items():
            name = _attribute(path)
            current = account.attributes.get(name)
            if not isinstance(current, int | float) or isinstance(current, bool):
                current = 0
            account.attributes[name] = current + by
    elif kind == "assign_csm":
        account.csm = result["csm"] = _choose_csm(ctx, spec)
    elif kind == "assign_playbook":
        if spec not in account.playbooks:
            account.playbooks.append(spec)
    elif kind == "add_moment":
        account.moments.append({"type": ctx.render(spec.get("type", "Milestone")),
                                "description": ctx.render(spec.get("description", "")),
                                "at": format_instant(now)})
    elif kind == "set_buying_group_status":
        group = _group(world.groups(account.id), spec["solution"])
        if group is None:
            result["skipped"] = "no buying group for that solution"
        else:
            group.status = ctx.render(spec["status"])
            world.touch_group(group)
    elif kind == "create_task":
        changed_account = False
        assignee = spec.get("assignee", "csm")
        assignee = account.csm if assignee == "csm" else assignee
        due = now + parse_duration(spec["due"]) if spec.get("due") else None
        content = {"title": ctx.render(spec["title"]), "assignee": assignee,
                   "due": format_instant(due), "notes": ctx.render(spec.get("notes"))}
        if assignee:
            ctx.effect(index, "task", "open", **content)
        else:  # `assignee: csm` on an account without a CSM: a task nobody would see
            result["skipped"] = "no_assignee"
            ctx.effect(index, "task", "skipped", reason="no_assignee", **content)
    elif kind == "webhook":
        changed_account = False
        url = ctx.render(spec["url"])
        content = {"url": url, "method": spec.get("method", "POST"),
                   "body": ctx.render(spec.get("body"))}
        if isinstance(url, str) and url.strip():
            ctx.effect(index, "webhook", ctx.engine.delivery_status, **content)
        else:  # its URL rendered empty (a missing attribute): nowhere to send it
            result["skipped"] = "no_url"
            ctx.effect(index, "webhook", "skipped", reason="no_url", **content)
    elif kind == "send_email":
        changed_account = False
        result.update(_send_email(ctx, index, spec))
    elif kind == "add_to_campaign":
        changed_account = False
        people = ctx.targets(index, spec.get("to"))
        for person in people:
            ctx.effect(index, "campaign", ctx.engine.delivery_status, person.id,
                       campaign=spec["campaign"])
        if people:
            result["to"] = [p.id for p in people]
        else:
            result["skipped"] = "no_recipients"
            ctx.effect(index, "campaign", "skipped", reason="no_recipients",
                       campaign=spec["campaign"])
    elif kind == "add_to_buying_group":
        people = ctx.targets(index, spec.get("to"))
        _people(result, people)
        add_to_buying_group(ctx.engine, ctx.step, account, spec["solution"], spec["role"],
                            spec.get("template"), people)
    elif kind == "change_score":
        people = ctx.targets(index, spec.get("to"))
        _people(result, people)
        for person in people:
            ctx.engine.change_score(ctx.step, person, float(spec["by"]),
                                    f"{ctx.key(index, person.id)}")
    if changed_account:
        world.touch_account(account)
        ctx.step.mark(account.id)
    return result


def _people(result: dict[str, Any], people: list[Person]) -> None:
    """Whom an action on people acted on, for the history; ``no_people`` when nobody."""
    if people:
        result["people"] = [p.id for p in people]
    else:
        result["skipped"] = "no_people"


def _group(groups: list[BuyingGroup], solution: str) -> BuyingGroup | None:
    return next((g for g in groups if g.solution == solution), None)


def add_to_buying_group(engine: EngineCore, step: Step, account: Account, solution: str, role: str,
                        template: str | None, people: list[Person]) -> None:
    world = step.world
    group = _group(world.groups(account.id), solution)
    if group is None:
        if template is None and engine.workspace.role_templates:
            template = next(iter(engine.workspace.role_templates))
        group = BuyingGroup(account=account.id, solution=solution, template=template)
        world.add_group(group)
    for person in people:
        member = next((m for m in group.members if m.person == person.id), None)
        if member is None:
            group.members.append(Member(person.id, role))
        else:
            member.role = role
    world.touch_group(group)
    world.rescore_groups(account.id)
    step.mark(account.id)


def _choose_csm(ctx: ActionContext, spec: dict[str, Any]) -> str | None:
    strategy = spec.get("strategy", "fixed")
    if strategy == "fixed":
        return str(spec["csm"])
    pool = [str(p) for p in spec["pool"]]
    if strategy == "round_robin":
        position = ctx.engine.store.next_value(f"round_robin:{ctx.journey.id}:{ctx.node}")
        return pool[(position - 1) % len(pool)]
    ctx.step.world.flush()
    loads = ctx.engine.store.csm_loads(pool)
    return min(pool, key=lambda member: (loads[member], pool.index(member)))


def _send_email(ctx: ActionContext, index: int, spec: dict[str, Any]) -> dict[str, Any]:
    """Email each target (or skip them, each with a reason); what it did, for the history:
    ``to`` the people emailed, ``not_sent`` the others with their reasons, ``skipped:
    no_recipients`` (an effect too) when the action targets nobody."""
    workspace = ctx.engine.workspace
    people = ctx.targets(index, spec.get("to"))
    if not people:
        ctx.effect(index, "email", "skipped", reason="no_recipients", template=spec["template"])
        return {"skipped": "no_recipients"}
    sent: list[str] = []
    not_sent: dict[str, str] = {}
    template = workspace.templates.get(spec["template"])
    quiet = workspace.quiet_hours.get("email")
    capped = "email" in workspace.frequency_caps
    for person in people:
        reason = None
        if person.unsubscribed:
            reason = "unsubscribed"
        elif not person.email:
            reason = "no_email"
        elif template is None:
            reason = "unknown_template"
        elif not template.approved:
            reason = "template_not_approved"
        elif capped and _over_cap(ctx, person):
            reason = "frequency_cap"
        send_at = ctx.step.now
        if reason is None and quiet is not None:
            where = quiet.zone_of(ctx.account.attributes)
            if quiet.is_quiet(send_at, where):
                if quiet.then == "skip":
                    reason = "quiet_hours"
                else:
                    send_at = quiet.next_open(send_at, where)
        if reason is not None or template is None:
            ctx.effect(index, "email", "skipped", person.id, reason=reason,
                       template=spec["template"])
            not_sent[person.id] = reason or "unknown_template"
            continue
        values = ctx.values(person)
        render = ctx.engine.renderer.render
        try:
            content: dict[str, Any] = {
                "subject": render(template.subject, values),
                "preheader": render(template.preheader, values) if template.preheader else None,
                "text": render(template.text, values),
                "html": render(template.html, values) if template.html else None}
        except RenderError as error:
            ctx.effect(index, "email", "skipped", person.id, reason="template_error",
                       template=template.id, error=str(error))
            not_sent[person.id] = "template_error"
            continue
        if send_at != ctx.step.now:  # waits in the outbox until quiet hours are over
            content["deferred_from"] = format_instant(ctx.step.now)
        track = _tracking(workspace.tracking.get("email"), template)
        if track is not None:  # only then: untracked emails' payloads stay as they were
            content["track"] = track
        ctx.effect(index, "email", ctx.engine.delivery_status, person.id, at=send_at,
                   to=person.email, template=template.id, **content)
        sent.append(person.id)
    outcome: dict[str, Any] = {}
    if sent:
        outcome["to"] = sent
    if not_sent:
        outcome["not_sent"] = not_sent
    return outcome


def _tracking(workspace: tuple[bool, bool] | None, template: Template) -> dict[str, bool] | None:
    """What the email's sender tracks: the template's own setting, else the workspace's;
    None when neither clicks nor opens are. (People who opted out get no email at all.)"""
    clicks, opens = workspace or (False, False)
    if template.track_clicks is not None:
        clicks = template.track_clicks
    if template.track_opens is not None:
        opens = template.track_opens
    return {"clicks": clicks, "opens": opens} if clicks or opens else None


def _over_cap(ctx: ActionContext, person: Person) -> bool:
    cap = ctx.engine.workspace.frequency_caps.get("email")
    if cap is None:
        return False
    most, per = cap
    ctx.step.world.flush()  # this step's emails count too
    return ctx.engine.store.deliveries_since(person.id, "email", ctx.step.now - per) >= most


def score_event(person: Person, by: float, key: str, now: Any) -> Event:
    return Event(id=f"score:{key}", type="person.score_changed", at=now,
                 account=person.account, person=person.id,
                 properties={"by": by, "score": person.score})
