"""An input's idempotency key (a Segment messageId) is remembered for good: a repeat arriving
after the first copy was applied is a no-op, not a second application."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from itinera.runtime import ManualClock, Service

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def test_a_repeat_after_it_was_applied_is_ignored(database_url: str) -> None:
    clock = ManualClock(T0)
    service = Service(database_url, clock)
    try:
        identify = {"upsert_person": {"id": "p1", "attributes": {"plan": "trial"}}}
        service.submit([identify], keys=["segment:m-1"])
        service.work()
        service.submit([{"upsert_person": {"id": "p1", "attributes": {"plan": "paid"}}}],
                       keys=["segment:m-2"])
        service.work()
        clock.advance(timedelta(days=3))
        service.submit([identify], keys=["segment:m-1"])  # the SDK retried an old message
        assert service.work() == 0
        with service.store.transaction():
            person = service.store.person("p1")
        assert person is not None and person.attributes == {"plan": "paid"}
    finally:
        service.close()


def test_requests_received_in_parallel_store_a_repeated_key_once(database_url: str) -> None:
    import threading

    from itinera.api.context import ApiContext
    from itinera.storage import inbox

    service = Service(database_url, ManualClock(T0))
    context = ApiContext(service)  # each request receives on a connection of its own
    start = threading.Barrier(6)
    stored: list[int] = []

    def post(n: int) -> None:
        start.wait()
        stored.append(context.receive([
            {"upsert_person": {"id": "p1", "attributes": {"plan": "trial"}}},
            {"upsert_person": {"id": f"q{n}"}}], keys=["segment:m-1", f"segment:n-{n}"]))

    try:
        threads = [threading.Thread(target=post, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        with service.intake.transaction():
            assert inbox.pending_count(service.intake) == 7  # m-1 once, and the six n-*
        assert service.work() == 7
    finally:
        service.close()
