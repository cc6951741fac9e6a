"""The SQL functions the date operators call, and their installers.

On SQLite, ``install_sqlite_functions`` registers ``itinera_instant`` on every connection: it
*is* ``timeutil.parse_data_instant``, as epoch seconds. On PostgreSQL,
``install_postgres_functions`` creates ``itinera_instant(text)``,
``itinera_number_instant(double precision)`` and ``itinera_json_instant(jsonb)``: a port of
the same rules, including what Python's ``fromisoformat`` rejects or oddly accepts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from itinera.conditions.sql._values import EPOCH
from itinera.timeutil import parse_data_instant

__all__ = ["install_postgres_functions", "install_sqlite_functions"]

_SECOND = timedelta(seconds=1)


def _sqlite_instant(value: object) -> float | None:
    """``itinera_instant(x)`` on SQLite: ``parse_data_instant`` as epoch seconds, or NULL."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        instant = parse_data_instant(value)
        return None if instant is None else (instant - EPOCH) / _SECOND
    except (OverflowError, ValueError):
        return None


def _register(dbapi_connection: Any) -> None:
    dbapi_connection.create_function("itinera_instant", 1, _sqlite_instant, deterministic=True)


def _on_connect(dbapi_connection: Any, record: Any) -> None:
    _register(dbapi_connection)
    record.info["itinera_functions"] = True


def _on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    if not record.info.get("itinera_functions"):  # pooled before the install
        _on_connect(dbapi_connection, record)


def install_sqlite_functions(engine: sa.Engine | sa.Connection) -> None:
    """Register ``itinera_instant`` on every connection of a SQLite engine (idempotent).

    New connections get it when they connect, pooled ones when next checked out; pass a
    Connection to also equip that open connection at once.
    """
    target = engine.engine if isinstance(engine, sa.Connection) else engine
    if not sa_event.contains(target, "connect", _on_connect):
        sa_event.listen(target, "connect", _on_connect)
        sa_event.listen(target, "checkout", _on_checkout)
    if isinstance(engine, sa.Connection):
        _register(engine.connection.dbapi_connection)


# The same rules as timeutil.parse_data_instant under Python 3.11 (3.12 and 3.13 agree): the
# narrow regex (ASCII digits, nothing after the end), then what datetime.fromisoformat accepts:
# a real date from year 1; hour <= 23, minute and second <= 59; an offset of less than 24 hours
# (its minutes may exceed 59: +05:75 is 6h15); and "date+HH:MM"/"date-HH:MM" without a time is
# read as that time of day in UTC (fromisoformat takes the sign for the date-time separator);
# and the instant, in UTC, must be within years 1..9999 (0001-01-01T00:00+01:00 is not).
# PARALLEL UNSAFE: the EXCEPTION block starts a subtransaction, which parallel workers refuse.
_PG_INSTANT = r"""
CREATE OR REPLACE FUNCTION itinera_instant(value text) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL UNSAFE
SET timezone = 'UTC'
AS $fn$
DECLARE
    m text[];
    hh int := 0;
    mi int := 0;
    ss int := 0;
    frac numeric := 0;
    off int := 0;
    days int;
    seconds numeric;
BEGIN
    m := regexp_match(value, '^([0-9]{4})-([0-9]{2})-([0-9]{2})'
        '(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.]([0-9]{1,6}))?)?)?'
        '(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))?$');
    IF m IS NULL THEN
        RETURN NULL;
    END IF;
    days := make_date(m[1]::int, m[2]::int, m[3]::int) - DATE '1970-01-01';
    IF m[4] IS NULL THEN
        IF m[9] IS NOT NULL THEN
            hh := m[10]::int;
            mi := m[11]::int;
        END IF;
    ELSE
        hh := m[4]::int;
        mi := m[5]::int;
        IF m[6] IS NOT NULL THEN
            ss := m[6]::int;
        END IF;
        IF m[7] IS NOT NULL THEN
            frac := ('0.' || m[7])::numeric;
        END IF;
        IF m[9] IS NOT NULL THEN
            off := (m[10]::int * 60 + m[11]::int) * 60;
            IF m[9] = '-' THEN
                off := -off;
            END IF;
        END IF;
    END IF;
    IF hh > 23 OR mi > 59 OR ss > 59 OR abs(off) >= 86400 THEN
        RETURN NULL;
    END IF;
    seconds := days::numeric * 86400 + hh * 3600 + mi * 60 + ss + frac - off;
    IF seconds < -62135596800 OR seconds >= 253402300800 THEN
        RETURN NULL;
    END IF;
    RETURN seconds::double precision;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$fn$
"""

# datetime.fromtimestamp(x, UTC): x rounded to microseconds half-to-even (rint) after modf,
# then the year must be 1..9999.
_PG_NUMBER_INSTANT = r"""
CREATE OR REPLACE FUNCTION itinera_number_instant(value double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
DECLARE
    whole double precision;
    micros double precision;
BEGIN
    IF NOT (value BETWEEN -1e12::double precision AND 1e12::double precision) THEN
        RETURN NULL;
    END IF;
    whole := trunc(value);
    micros := round((value - whole) * 1000000::double precision);
    IF micros >= 1000000 THEN
        micros := micros - 1000000;
        whole := whole + 1;
    ELSIF micros < 0 THEN
        micros := micros + 1000000;
        whole := whole - 1;
    END IF;
    IF whole < -62135596800 OR whole > 253402300799 THEN
        RETURN NULL;
    END IF;
    RETURN (whole::numeric + micros::numeric / 1000000)::double precision;
END
$fn$
"""

_PG_JSON_INSTANT = r"""
CREATE OR REPLACE FUNCTION itinera_json_instant(value jsonb) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL UNSAFE
SET search_path FROM CURRENT
AS $fn$
BEGIN
    CASE jsonb_typeof(value)
        WHEN 'string' THEN
            RETURN itinera_instant(value #>> '{}');
        WHEN 'number' THEN
            IF abs(value::numeric) > 1e12 THEN
                RETURN NULL;
            END IF;
            RETURN itinera_number_instant(value::double precision);
        ELSE
            RETURN NULL;
    END CASE;
END
$fn$
"""


def install_postgres_functions(connection: sa.Connection) -> None:
    """Create (or replace) ``itinera_instant(text)``, ``itinera_number_instant(double
    precision)`` and ``itinera_json_instant(jsonb)`` in the current schema (idempotent).

    Installers running at once (several stores starting on one database) take turns: two
    concurrent CREATE OR REPLACE of one function can fail with "tuple concurrently updated".
    """
    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7146873921)")
    for statement in (_PG_INSTANT, _PG_NUMBER_INSTANT, _PG_JSON_INSTANT):
        connection.exec_driver_sql(statement)
