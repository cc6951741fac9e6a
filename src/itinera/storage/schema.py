"""The tables of an Itinera store (SQLAlchemy Core), shared by SQLite and PostgreSQL.

JSON columns become JSONB on PostgreSQL. Instants are stored as timezone-aware timestamps on
PostgreSQL and as ISO text on SQLite (SQLAlchemy's DateTime), always in UTC; ``seq`` columns record the order
things were added, which the language makes meaningful (people are acted on in that order).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    event,
)
from sqlalchemy.dialects.postgresql import JSONB

from itinera.timeutil import as_utc

__all__ = [
    "APPEND_ONLY",
    "accounts",
    "api_keys",
    "audit",
    "buying_groups",
    "config",
    "counters",
    "drafts",
    "effects",
    "email_bounces",
    "email_hits",
    "enrollments",
    "events",
    "history",
    "inbox",
    "journal",
    "journeys",
    "metadata",
    "people",
    "received",
    "rejected",
    "reviews",
    "scenarios",
    "segment_members",
    "sessions",
    "sign_in_failures",
    "suppressions",
    "test_emails",
    "timers",
    "users",
]

metadata = MetaData()
Json = JSON().with_variant(JSONB(), "postgresql")


class UtcInstant(TypeDecorator[datetime]):
    """A timezone-aware timestamp, bound in UTC: SQLite's text drops the offset, so an instant
    written in another one (``09:00-05:00``) would be read back as that local time in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)


Instant = UtcInstant()

accounts = Table(
    "accounts", metadata,
    Column("id", String, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("attributes", Json, nullable=False),
    Column("csm", String, index=True),
    Column("created_at", Instant, nullable=False),
    Column("playbooks", Json, nullable=False),
    Column("moments", Json, nullable=False),
)

people = Table(
    "people", metadata,
    Column("id", String, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("account", String, index=True),
    Column("email", String),
    Column("attributes", Json, nullable=False),
    Column("score", Float, nullable=False, default=0),
    Column("unsubscribed", Boolean, nullable=False, default=False),
)

buying_groups = Table(
    "buying_groups", metadata,
    Column("account", String, primary_key=True),
    Column("solution", String, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("template", String),
    Column("status", String),
    Column("members", Json, nullable=False),  # [{"person": id, "role": name}] in order added
    # Derived from members, the role template and people's scores; kept up to date on every
    # save so that conditions can filter on them in SQL.
    Column("engagement_score", Float, nullable=False, default=0),
    Column("completeness_score", Float, nullable=False, default=0),
)

events = Table(
    "events", metadata,
    Column("id", String, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("type", String, nullable=False),
    Column("account", String),  # as sent; an event of a person belongs to the person's account
    Column("person", String),
    Column("at", Instant, nullable=False),
    Column("properties", Json, nullable=False),
    # An account's events, and its people's (``events_of``), each through its own index.
    Index("ix_events_account_type", "account", "type"),
    Index("ix_events_person_type", "person", "type"),
    # The events of one type in a window, for every account at once (a segment's ``performed``).
    Index("ix_events_type_at", "type", "at"),
)

segment_members = Table(
    "segment_members", metadata,
    Column("segment", String, primary_key=True),
    Column("account", String, primary_key=True, index=True),
)

config = Table(
    "config", metadata,  # workspace configuration: csms, templates, segments, role templates...
    Column("kind", String, primary_key=True),
    Column("id", String, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("body", Json, nullable=False),
)

journeys = Table(
    "journeys", metadata,
    Column("id", String, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("definition", Json, nullable=False),
    Column("published_at", Instant),
    Column("source", Text),  # the text published (YAML as written), when it came as text
    Column("published_by", String),  # Actor.label of who published it: key:ci, user:ana
)

drafts = Table(
    "drafts", metadata,  # the studio's unpublished texts: never run until published
    Column("id", String, primary_key=True),
    Column("kind", String, nullable=False),  # journey | segment | template
    Column("object_id", String),  # the journey/segment/template it edits, once it has an id
    Column("text", Text, nullable=False),  # the source of truth: YAML as written
    Column("base_version", Integer),  # the journey version it started from, if any
    Column("revision", Integer, nullable=False),  # goes up with every change: stale writes fail
    Column("created_at", Instant, nullable=False),
    Column("created_by", String, nullable=False),
    Column("updated_at", Instant, nullable=False),
    Column("updated_by", String, nullable=False),
    Index("ix_drafts_kind_object", "kind", "object_id"),
)

counters = Table(
    "counters", metadata,  # sequences and per-(journey, node) round-robin positions
    Column("key", String, primary_key=True),
    Column("value", Integer, nullable=False),
)

enrollments = Table(
    "enrollments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("journey", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("account", String, nullable=False),
    Column("status", String, nullable=False),
    Column("goal_achieved", Boolean, nullable=False),
    Column("goal_at", Instant),
    Column("enrolled_at", Instant, nullable=False),
    Column("ended_at", Instant),
    Column("reason", String),
    Column("path", Json, nullable=False),
    Column("variants", Json, nullable=False),
    Column("state", Json, nullable=False),  # running tokens and counters
    Index("ix_enrollments_account_status", "account", "status"),
    Index("ix_enrollments_journey_account", "journey", "account"),
    # A journey's active enrollments by version (the impact preview of a publish).
    Index("ix_enrollments_journey_status_version", "journey", "status", "version"),
)

timers = Table(
    "timers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # order set
    Column("due_at", Instant, nullable=False),
    Column("kind", String, nullable=False),  # wake | reeval | resume
    Column("account", String),
    Column("enrollment", Integer),
    Column("token", Integer),
    Column("journey", String),
    # A timer of a paused journey that fell due is held until the journey resumes.
    Column("held", Boolean, nullable=False, default=False),
    Column("payload", Json, nullable=False),
    Index("ix_timers_due", "due_at", "id"),
    Index("ix_timers_account", "account"),  # a round loads the timers of its accounts
)

effects = Table(
    "effects", metadata,  # the outbox: every effect, with its idempotency key
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("key", String, nullable=False, unique=True),
    Column("channel", String, nullable=False),  # email | webhook | task | campaign
    Column("status", String, nullable=False),  # sent (sandbox) | pending | skipped | ...
    Column("journey", String),
    Column("node", String),
    Column("account", String),
    Column("person", String),
    Column("at", Instant, nullable=False),
    Column("payload", Json, nullable=False),
    # Delivery by the live dispatcher: attempts so far, when to try next, the last failure,
    # when it was delivered. A dead-lettered effect has status "dead".
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Instant),
    Column("last_error", Text),
    Column("delivered_at", Instant),
    Index("ix_effects_status_next", "status", "next_attempt_at"),
    Index("ix_effects_person_channel_at", "person", "channel", "at"),  # frequency caps
    Index("ix_effects_account_id", "account", "id"),  # one account's effects, newest first
)

inbox = Table(
    "inbox", metadata,  # inputs durably received by the service, waiting for a worker
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("kind", String, nullable=False),  # event | upsert_account | upsert_person | ...
    Column("account", String, index=True),  # inputs of one account are applied in order
    Column("key", String, unique=True),  # idempotency: event id / Segment messageId
    Column("payload", Json, nullable=False),
    Column("received_at", Instant, nullable=False),
    sqlite_autoincrement=True,  # a seq is never reused, even after its row is deleted
)

journal = Table(
    "journal", metadata,  # every input a worker applied, moved here from the inbox: the history
    Column("seq", Integer, primary_key=True, autoincrement=False),  # its inbox seq: arrival order
    Column("kind", String, nullable=False),
    Column("account", String),
    Column("key", String),
    Column("payload", Json, nullable=False),
    Column("received_at", Instant, nullable=False),
    Column("applied_at", Instant, nullable=False),  # the worker's clock when it applied the input
    Index("ix_journal_received_at", "received_at"),
)

received = Table(
    "received", metadata,  # every idempotency key the inbox took, for good: repeats are no-ops
    Column("key", String, primary_key=True),
    Column("received_at", Instant, nullable=False),
)

rejected = Table(
    "rejected", metadata,  # messages that could not be mapped, kept with their reason
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String, nullable=False),  # segment | bulk | import
    Column("reason", Text, nullable=False),
    Column("payload", Json, nullable=False),
    Column("received_at", Instant, nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", String, primary_key=True),  # the public prefix of the key
    Column("name", String, nullable=False),
    Column("secret_hash", String, nullable=False),  # sha256 of the whole key; the key is never stored
    Column("created_at", Instant, nullable=False),
    Column("revoked_at", Instant),
    Column("scope", String, nullable=False, server_default="admin"),  # ingest|read|write|admin
    Column("rate_limit", Float),  # requests per second of an ingest key; None: the setting's
)

sessions = Table(
    "sessions", metadata,  # signed-in browsers of the UI: the cookie holds the token, never a key
    Column("id", String, primary_key=True),  # sha256 of the session token; the token is not stored
    Column("key_id", String, index=True),  # signed in with a key, or
    Column("created_at", Instant, nullable=False),
    Column("expires_at", Instant, nullable=False),
    Column("user_id", String, index=True),  # signed in as a user (one of the two is set)
)

users = Table(
    "users", metadata,  # people who sign in with a name and a password
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False, unique=True),  # as typed at sign-in, lower case
    Column("password_hash", String, nullable=False),  # argon2id; the password is never stored
    Column("role", String, nullable=False),  # viewer|editor|approver|admin
    Column("created_at", Instant, nullable=False),
    Column("disabled_at", Instant),
)

sign_in_failures = Table(
    "sign_in_failures", metadata,  # failed sign-ins, per name and per client address
    Column("id", String, primary_key=True),  # "name:<name>" or "address:<address>"
    Column("failures", Integer, nullable=False),
    Column("last_at", Instant, nullable=False),
    Column("locked_until", Instant),  # no sign-in for it before then
)

history = Table(
    "history", metadata,  # what each enrollment did and why: node visits and decisions
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("enrollment", Integer, nullable=False, index=True),
    Column("at", Instant, nullable=False),
    Column("node", String),
    Column("entry", Json, nullable=False),
)

scenarios = Table(
    "scenarios", metadata,  # scenario files kept in the workspace, run against drafts (studio)
    Column("name", String, primary_key=True),
    Column("text", Text, nullable=False),  # the scenario file as written
    Column("files", Json, nullable=False),  # {relative name: text}: its journey and workspace files
    Column("journeys", Json, nullable=False),  # the journey ids it defines (which drafts it tests)
    Column("added_at", Instant, nullable=False),
    Column("added_by", String, nullable=False),  # the actor's label
)

test_emails = Table(
    "test_emails", metadata,  # test sends of templates (not deliveries): recorded, rate-limited
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Instant, nullable=False),
    Column("actor", String, nullable=False),  # kind:id of who sent it, the rate limit's key
    Column("actor_label", String, nullable=False),
    Column("to", String, nullable=False),
    Column("template", String),  # the template's id, when it has one
    Column("person", String),  # whose values it was rendered with
    Column("subject", Text, nullable=False),
    Column("status", String, nullable=False),  # sending | sent | failed
    Column("error", Text),
    Index("ix_test_emails_actor_at", "actor", "at"),
)
audit = Table(
    "audit", metadata,  # who changed what, when, from where: append-only (triggers refuse more)
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Instant, nullable=False),
    Column("actor_kind", String, nullable=False),  # user | key | cli | system
    Column("actor_id", String, nullable=False),
    Column("actor_name", String, nullable=False),
    Column("address", String),  # the request's client address, over HTTP
    Column("kind", String, nullable=False),  # publish, enable, approve, key_create, ...
    Column("object_kind", String, nullable=False),  # journey, template, key, user, task, ...
    Column("object_id", String, nullable=False),
    Column("before", Json),  # bounded, secrets redacted (storage.audit)
    Column("after", Json),
    Index("ix_audit_at", "at"),
    Index("ix_audit_object", "object_kind", "object_id"),
    Index("ix_audit_actor", "actor_id"),
    sqlite_autoincrement=True,
)

reviews = Table(
    "reviews", metadata,  # approval workflow: one content (by its sha256) submitted for review
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String, nullable=False),  # template | journey
    Column("object_id", String, nullable=False),
    Column("content_hash", String, nullable=False),
    Column("content", Json, nullable=False),  # what the approver approves
    Column("draft_id", String),  # the draft it was submitted from, if any (migration 0012)
    Column("state", String, nullable=False),  # pending | approved | rejected | superseded
    Column("note", Text),  # the submitter's
    Column("submitted_by", Json, nullable=False),  # {kind, id, name}
    Column("submitted_at", Instant, nullable=False),
    Column("comment", Text),  # the reviewer's
    Column("decided_by", Json),
    Column("decided_at", Instant),
    Index("ix_reviews_object", "kind", "object_id", "content_hash"),
    Index("ix_reviews_state", "state"),
    sqlite_autoincrement=True,
)

APPEND_ONLY: dict[str, tuple[str, ...]] = {
    # The database itself refuses to change or remove an audit entry, whoever asks.
    "sqlite": (
        "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ),
    "postgresql": (
        "CREATE OR REPLACE FUNCTION itinera_audit_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS audit_append_only ON audit",
        "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit "
        "FOR EACH ROW EXECUTE FUNCTION itinera_audit_append_only()",
        "DROP TRIGGER IF EXISTS audit_no_truncate ON audit",
        "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
        "FOR EACH STATEMENT EXECUTE FUNCTION itinera_audit_append_only()",
    ),
}
"""The statements making ``audit`` append-only, per dialect (run after the table is created,
by ``create_all`` and by the migration that adds it)."""


@event.listens_for(audit, "after_create")
def _append_only(target: Table, connection: Any, **_: Any) -> None:
    for statement in APPEND_ONLY.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)

email_hits = Table(
    "email_hits", metadata,  # tracked clicks and opens of emails, bots' included (flagged)
    Column("id", String, primary_key=True),  # the event's id: one hit per link and second
    Column("effect", Integer, nullable=False),
    Column("kind", String, nullable=False),  # click | open
    Column("journey", String),
    Column("node", String),
    Column("template", String),
    Column("person", String),
    Column("link", Integer),  # the link's index in the message (clicks)
    Column("url", Text),
    Column("at", Instant, nullable=False),
    Column("bot", Boolean, nullable=False),
    Column("bot_reason", String),  # user_agent | too_soon | burst
    Index("ix_email_hits_journey_node", "journey", "node"),
    Index("ix_email_hits_effect_at", "effect", "at"),
)

email_bounces = Table(
    "email_bounces", metadata,  # every bounce and complaint received, hard or soft
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("address", String, nullable=False),  # lower-cased
    Column("kind", String, nullable=False),  # hard | soft | complaint
    Column("status", String),  # the DSN's status code (5.1.1), when it had one
    Column("detail", Text),  # the diagnostic code or the service's description
    Column("source", String, nullable=False),  # smtp | postmark
    Column("effect", Integer),  # the effect bounced, when the return path named it
    Column("at", Instant, nullable=False),
    Index("ix_email_bounces_address", "address"),
)

suppressions = Table(
    "suppressions", metadata,  # addresses no email is sent to (hard bounce, complaint)
    Column("address", String, primary_key=True),  # lower-cased
    Column("reason", String, nullable=False),  # hard_bounce | complaint
    Column("source", String, nullable=False),  # smtp | postmark
    Column("detail", Text),
    Column("at", Instant, nullable=False),
)
