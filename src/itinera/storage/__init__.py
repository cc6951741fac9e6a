"""One Store interface and its SQL adapter (SQLite embedded, PostgreSQL by URL)."""

from itinera.storage.sql import SqlStore
from itinera.storage.store import AccountRecords, Effect, Store, Timer

__all__ = ["AccountRecords", "Effect", "SqlStore", "Store", "Timer"]
