"""One database, one kind of worker: a lone worker keeps timers in memory, so a second worker
beside it is refused with a clear error; workers that share may run together; the lock ends
with the service (or its process)."""

from __future__ import annotations

import pytest

from itinera.runtime import Service
from itinera.runtime.worker_lock import WorkerLockError


def test_a_second_lone_worker_is_refused_until_the_first_stops(database_url: str) -> None:
    first = Service(database_url, sandbox=True)
    try:
        with pytest.raises(WorkerLockError, match=r"another worker|other workers"):
            Service(database_url, sandbox=True)
    finally:
        first.close()
    again = Service(database_url, sandbox=True)  # released by close()
    again.close()


def test_lone_and_sharing_workers_exclude_each_other_on_postgresql(postgres_url: str) -> None:
    lone = Service(postgres_url, sandbox=True)
    try:
        with pytest.raises(WorkerLockError, match="restart it with --shared"):
            Service(postgres_url, sandbox=True, shared=True)
    finally:
        lone.close()
    sharing = [Service(postgres_url, sandbox=True, shared=True) for _ in range(2)]
    try:
        with pytest.raises(WorkerLockError, match="start this one with --shared"):
            Service(postgres_url, sandbox=True)
    finally:
        for service in sharing:
            service.close()


def test_a_receive_only_service_takes_no_lock_and_does_not_work(database_url: str) -> None:
    worker = Service(database_url, sandbox=True)
    receiver = Service(database_url, sandbox=True, receive_only=True)  # e.g. an import
    try:
        assert receiver.submit([{"upsert_account": {"id": "acme"}}]) == 1
        with pytest.raises(RuntimeError, match="receive-only"):
            receiver.work()
        assert worker.work() == 1
    finally:
        receiver.close()
        worker.close()
