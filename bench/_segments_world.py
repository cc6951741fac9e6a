"""The generated B2B world of ``bench/segments.py``, built set-wise in the database itself.

``accounts`` accounts, 5 people each and 10 events each (half of them carry the account, the
other half only a person of it), spread over the year before ``NOW`` by a multiplicative hash of
their number, so that every run builds the same world. One ``INSERT … SELECT`` per table over a
recursive CTE (SQLite) or ``generate_series`` (PostgreSQL): no row passes through Python.
The store's own schema (its migrations) holds the rows; ``ANALYZE`` ends the build.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

__all__ = ["NOW", "build", "is_built"]

NOW = datetime(2025, 1, 1, tzinfo=UTC)
_YEAR = 365 * 86400
_HASH = "(({k}) * 2654435761) % 4294967291"  # a different number for every k, well spread

# One CASE over a hash: the value at position (hash % len(options)).
_SIZES = ["Large", "Medium", "Small", "Small"]
_INDUSTRIES = ["Software", "Fintech", "Retail", "Health", "Media"]
_TITLES = ["VP Sales", "Engineer", "CTO", "Account Executive", "SVP Marketing",
           "Director of IT", "Analyst", "Head of Data", "Manager", "Developer"]
_TYPES = ["webinar.attended", "webinar.attended", "page.viewed", "page.viewed", "page.viewed",
          "email.opened", "email.opened", "trial.started", "feature.used", "login"]
_PATHS = ["/pricing", "/pricing/enterprise", "/docs", "/blog"]


def _pick(hash_: str, options: list[str]) -> str:
    cases = " ".join(f"WHEN {i} THEN '{option}'" for i, option in enumerate(options))
    return f"CASE ({hash_}) % {len(options)} {cases} END"


def _series(dialect: str, n: int) -> str:
    if dialect == "postgresql":
        return f"(SELECT k::bigint AS k FROM generate_series(0, {n - 1}) AS k)"
    return (f"(WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM s WHERE k + 1 < {n}) "
            "SELECT k FROM s)")


def _statements(dialect: str, accounts: int) -> list[str]:
    pg = dialect == "postgresql"
    now = int(NOW.timestamp())
    obj = "jsonb_build_object" if pg else "json_object"

    def quotient(a: str, b: str) -> str:  # integer division on both
        return f"div({a}, {b})" if pg else f"(({a}) / {b})"

    def instant(seconds: str) -> str:
        if pg:
            return f"to_timestamp({seconds})"
        return f"strftime('%Y-%m-%d %H:%M:%S', {seconds}, 'unixepoch') || '.000000'"

    h = _HASH.format(k="k")
    hp = _HASH.format(k="k + 7")
    he = _HASH.format(k="k + 13")
    at = f"{now} - {quotient(he, '10')} % {_YEAR}"  # within the year before NOW
    person = f"'p' || ({quotient('k', '10')} * 5 + {quotient('k % 10', '2')})"
    return [
        "INSERT INTO accounts (id, seq, attributes, csm, created_at, playbooks, moments) "
        f"SELECT 'a' || k, k + 1, {obj}('size', {_pick(h, _SIZES)}, 'industry', "
        f"{_pick(quotient(h, '7'), _INDUSTRIES)}, 'employees', {h} % 5000), NULL, "
        f"{instant(str(now - 2 * _YEAR))}, '[]', '[]' FROM {_series(dialect, accounts)} AS s",
        "INSERT INTO people (id, seq, account, email, attributes, score, unsubscribed) "
        f"SELECT 'p' || k, k + 1, 'a' || {quotient('k', '5')}, 'p' || k || '@example.com', "
        f"{obj}('title', {_pick(hp, _TITLES)}), {hp} % 100, false "
        f"FROM {_series(dialect, accounts * 5)} AS s",
        "INSERT INTO events (id, seq, type, account, person, at, properties) "
        f"SELECT 'e' || k, k + 1, {_pick(he, _TYPES)}, "
        f"CASE WHEN k % 2 = 0 THEN 'a' || {quotient('k', '10')} END, "
        f"CASE WHEN k % 2 = 1 THEN {person} END, "
        f"{instant(at)}, "
        f"{obj}('path', {_pick(quotient(he, '3'), _PATHS)}, 'n', k % 7) "
        f"FROM {_series(dialect, accounts * 10)} AS s",
        # Ids the live service takes next must not collide with the generated ones.
        "INSERT INTO counters (key, value) VALUES "
        f"('seq:account', {accounts + 1000}), ('seq:person', {5 * accounts + 1000}), "
        f"('seq:event', {10 * accounts + 1000})",
    ]


def is_built(connection: sa.Connection) -> int:
    """How many accounts the world in this database has (0: none yet)."""
    return int(connection.exec_driver_sql("SELECT count(*) FROM accounts").scalar() or 0)


def build(connection: sa.Connection, accounts: int) -> None:
    """Fill the (empty) store schema behind ``connection`` with the world, then ANALYZE."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.exec_driver_sql("PRAGMA cache_size = -1000000")
    for statement in _statements(dialect, accounts):
        # psycopg reads % as a placeholder: doubled, it is the modulo operator again.
        connection.exec_driver_sql(statement.replace("%", "%%") if dialect != "sqlite"
                                   else statement)
    connection.commit()
    connection.exec_driver_sql("ANALYZE")
    connection.commit()
