"""Loading a workspace's configuration and an initial world into an engine.

``load_world`` puts data in place without steps: being in a segment when the data arrives this
way is not an entry (scenarios' ``data``; a live bulk import of a starting world).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time

from itinera.definitions.models import Journey
from itinera.definitions.scenario import QuietHoursData, ScenarioData, WorkspaceData
from itinera.domain.approval import ApprovalSettings, content_hash
from itinera.domain.model import CSM, Account, BuyingGroup, Member, Person, Template
from itinera.domain.quiet_hours import WEEKDAYS, QuietHours, zone
from itinera.engine.catalog import CompiledJourney, JourneyState, Workspace
from itinera.engine.engine import Engine
from itinera.storage.store import Store
from itinera.timeutil import parse_duration, parse_instant

__all__ = ["configure", "load_workspace", "load_world", "quiet_hours", "settle_approvals"]


def configure(engine: Engine, data: WorkspaceData) -> None:
    """Set the workspace's CSMs, playbooks, templates, role templates, scoring and segments."""
    workspace, store = engine.workspace, engine.store
    with store.transaction():
        for csm in data.csms:
            workspace.csms[csm.id] = CSM(csm.id, csm.name, csm.email)
            store.put_config("csm", csm.id, csm.model_dump(mode="json"))
        for playbook in data.playbooks:
            if playbook not in workspace.playbooks:
                workspace.playbooks.append(playbook)
            store.put_config("playbook", playbook, {})
        for template in data.templates:
            workspace.templates[template.id] = Template(
                template.id, template.subject, template.text, template.html, template.preheader,
                template.approved, template.track_clicks, template.track_opens)
            store.put_config("template", template.id, template.model_dump(mode="json"))
        raw_templates = [(t.id, t.model_dump(mode="json")) for t in data.role_templates]
        for tid, body in raw_templates:
            store.put_config("role_template", tid, body)
        workspace.set_role_templates(store.config("role_template"))
        workspace.scoring.update(data.scoring)
        store.put_config("scoring", "rules", dict(workspace.scoring))
        for channel, cap in data.frequency_caps.items():
            workspace.frequency_caps[channel] = (cap.max, parse_duration(cap.per))
            store.put_config("frequency_cap", channel, cap.model_dump(mode="json"))
        for channel, quiet in data.quiet_hours.items():
            workspace.quiet_hours[channel] = quiet_hours(quiet)
            store.put_config("quiet_hours", channel, quiet.model_dump(mode="json"))
        for channel, tracking in data.tracking.items():
            workspace.tracking[channel] = (tracking.clicks, tracking.opens)
            store.put_config("tracking", channel, tracking.model_dump(mode="json"))
        for segment in data.segments:
            store.put_config("segment", segment.id, segment.when)
        workspace.set_segments(store.config("segment"))
        if data.approval is not None:
            store.put_config("approval", "settings", data.approval.model_dump(mode="json"))
        settle_approvals(workspace, store)


def load_world(engine: Engine, data: ScenarioData, now: datetime) -> None:
    """Insert accounts, people and buying groups; compute segment memberships set-wise in SQL;
    schedule the time-based flips. Inside an engine batch the records stay in its world."""
    store = engine.store
    with engine.batch():
        world = engine.world
        assert world is not None
        world.prefetch([a.id for a in data.accounts])  # in bulk: people already linked to them
        for a in data.accounts:
            world.add_account(Account(
                id=a.id, attributes=dict(a.attributes), csm=a.csm,
                created_at=parse_instant(a.created_at) if a.created_at else now,
                playbooks=list(a.playbooks)))
        for p in data.people:
            person = Person(id=p.id, account=p.account, email=p.email,
                            attributes=dict(p.attributes), score=p.score,
                            unsubscribed=p.unsubscribed, seq=store.next_value("seq:person"))
            world.move_person(person, None)
        for g in data.buying_groups:
            world.add_group(BuyingGroup(
                account=g.account, solution=g.solution, template=g.template, status=g.status,
                members=[Member(m.person, m.role) for m in g.members]))
        ids = [a.id for a in data.accounts]
        for account_id in ids:
            world.rescore_groups(account_id)
        world.flush()
        # Set-wise: one INSERT ... SELECT per segment, in dependency order.
        for segment in engine.workspace.segments:
            store.fill_segment(segment.id, segment.when, now, ids)
        world.replace_segments(store.memberships(ids))
        engine.schedule_reevaluations(world, ids, now)


def load_workspace(store: Store) -> Workspace:
    """The workspace as the store holds it: what a service starts from."""
    workspace = Workspace()
    with store.transaction():
        for cid, body in store.config("csm"):
            workspace.csms[cid] = CSM(cid, body.get("name"), body.get("email"))
        workspace.playbooks = [pid for pid, _ in store.config("playbook")]
        for tid, body in store.config("template"):
            workspace.templates[tid] = Template(
                tid, body["subject"], body.get("text", ""), body.get("html"),
                body.get("preheader"), body.get("approved", True), body.get("track_clicks"),
                body.get("track_opens"))
        workspace.set_role_templates(store.config("role_template"))
        for _, rules in store.config("scoring"):
            workspace.scoring.update(rules)
        for channel, cap in store.config("frequency_cap"):
            workspace.frequency_caps[channel] = (cap["max"], parse_duration(cap["per"]))
        for channel, quiet in store.config("quiet_hours"):
            workspace.quiet_hours[channel] = quiet_hours(QuietHoursData.model_validate(quiet))
        for channel, tracking in store.config("tracking"):
            workspace.tracking[channel] = (bool(tracking.get("clicks")), bool(tracking.get("opens")))
        workspace.set_segments(store.config("segment"))
        for jid, version, definition in store.journey_versions():
            workspace.versions[(jid, version)] = CompiledJourney.compile(
                Journey.model_validate(definition), version)
        for jid, body in store.config("journey_state"):
            workspace.states[jid] = JourneyState(body["status"], body["version"],
                                                 body["enabled_seq"])
        settle_approvals(workspace, store)
    return workspace


def settle_approvals(workspace: Workspace, store: Store) -> None:
    """Whether each template is approved: under the approval workflow (``approval.templates``)
    when an approved review holds its very content (any change needs a new approval);
    otherwise as its file says (``approved``, true by default)."""
    body = next((b for _, b in store.config("approval")), None)
    if not ApprovalSettings.from_body(body).templates:
        bodies = dict(store.config("template"))
        for tid, template in workspace.templates.items():
            workspace.templates[tid] = replace(
                template, approved=bool(bodies.get(tid, {}).get("approved", True)))
        return
    approved = store.approved_contents("template")
    for tid, template in workspace.templates.items():
        content = {"subject": template.subject, "preheader": template.preheader,
                   "text": template.text, "html": template.html}
        workspace.templates[tid] = replace(
            template, approved=(tid, content_hash("template", content)) in approved)


def quiet_hours(data: QuietHoursData) -> QuietHours:
    """The engine's form of a workspace's quiet hours."""
    default = zone(data.time_zone)
    assert default is not None  # checked by validation
    return QuietHours(
        start=time.fromisoformat(data.start), end=time.fromisoformat(data.end),
        days=frozenset(WEEKDAYS.index(day) for day in data.days), default_zone=default,
        zone_attribute=data.time_zone_attribute, then=data.then)
