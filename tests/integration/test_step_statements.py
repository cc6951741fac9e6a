"""How many statements a worker sends for one account's step after one event (issue 11: the
step against a hand-written transaction; bench/segments.py times it). A count is
deterministic, so it is pinned here: a change that adds a round trip to every event shows up
as this test failing, to be justified (or the count lowered) in the same change.

The step: an event naming only a person. The input is taken with, in the same statement,
whether its event id is stored and the configuration's version; the account's records are read
in three queries (people — the person's account found through them —, the account with its
segments and buying groups, its enrollments); the event is stored, the account's events read
for the segment's ``performed`` clause, the input moved to the journal, the account's
re-evaluation timer set (the clause's window ends).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from itinera.runtime import ManualClock, Service

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)

SETUP: list[dict[str, Any]] = [
    {"configure": {"segments": [{"id": "engaged", "when": {
        "account.size": "Large",
        "performed": {"event": "webinar.attended", "within_last": "30d", "count": {"gte": 2}}}}]}},
    *[{"upsert_account": {"id": f"a{n}", "attributes": {"size": "Large" if n % 2 else "Small"}}}
      for n in range(4)],
    *[{"upsert_person": {"id": f"p{n}{k}", "account": f"a{n}", "email": f"p{n}{k}@x.test"}}
      for n in range(4) for k in range(3)],
]


def _event(n: int, person: str, at: datetime) -> dict[str, Any]:
    return {"event": {"id": f"e{n}", "type": "webinar.attended", "person": person,
                      "at": at.isoformat()}}


def test_one_accounts_step_after_one_event_sends_a_pinned_number_of_statements(
        database_url: str) -> None:
    clock = ManualClock(T0)
    service = Service(database_url, clock, sandbox=True)
    try:
        service.submit([*SETUP, _event(0, "p00", T0)])
        service.work()
    finally:
        service.close()
    # A worker started on a stored world: it holds none of its records in memory yet.
    service = Service(database_url, clock, sandbox=True)
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()))

    try:
        # A first step of another account: the id blocks are reserved, the timers' window
        # loaded; what follows is the steady state of a running worker.
        service.submit([_event(100, "p30", T0)])
        service.work()
        steps = []
        for n, (person, account) in enumerate([("p11", "a1"), ("p21", "a2"), ("p22", "a2"),
                                                    ("p12", "a1")]):
            clock.set(T0 + timedelta(minutes=n + 1))
            service.submit([_event(n + 1, person, clock.now())])
            sent.clear()
            sa.event.listen(service.store.engine, "before_cursor_execute", count)
            try:
                assert service.work() == 1
            finally:
                sa.event.remove(service.store.engine, "before_cursor_execute", count)
            steps.append((account, list(sent)))
        with service.store.transaction():
            members = service.store.segment_members("engaged")
            timers = {a: [t.due_at for t in service.store.timers_of(a, "reeval")]
                      for a in ("a1", "a2")}
    finally:
        service.close()

    postgres = service.store.dialect == "postgresql"
    # PostgreSQL moves the input from the inbox to the journal in one statement; SQLite in two.
    fresh = 8 if postgres else 9
    assert [len(s) for _, s in steps[:2]] == [fresh, fresh], steps[0][1]
    for _, statements in steps[:2]:  # the account's records: read once each, together
        assert sum(" FROM people " in s for s in statements) == 1
        assert sum(s.startswith("SELECT accounts.") for s in statements) == 1
        assert sum(s.startswith("SELECT enrollments.") for s in statements) == 1
    # The same account again (another of its people): its records are kept by the lone
    # worker, its events read afresh; its re-evaluation instant is unchanged (its first
    # webinar still leaves the window first), so no timer is written.
    assert len(steps[2][1]) == fresh - 4, steps[2][1]
    assert not any("timers" in s for s in steps[2][1])
    # What the steps did: a1 (Large) has two webinars within 30 days and enters (the last
    # step, which also records that); a2 has two but is Small. Each account's re-evaluation
    # is when its first webinar leaves the window.
    assert members == ["a1"]
    assert any(s.startswith("INSERT INTO segment_members") for s in steps[3][1])
    assert timers == {"a1": [T0 + timedelta(minutes=1, days=30)],
                      "a2": [T0 + timedelta(minutes=2, days=30)]}
