"""Compile a condition tree to SQL: one query of the accounts for which it holds.

``select_accounts(tree, now, dialect, tables)`` returns exactly the accounts for which
``evaluate(tree, facts, now)`` is true (``conditions.evaluate`` is the reference; the
property tests in ``tests/contract/test_condition_sql.py`` hold the two together on SQLite
and PostgreSQL). How the reference rules become SQL:

- Every compared value is a *typed value*: a JSON value (attributes, event properties,
  ``account.playbooks``), or a column of a known kind (string, number, boolean, instant).
  Missing means absent or JSON null (SQL NULL for columns). JSON types are read with
  ``json_type`` (SQLite; its ``json_extract`` turns ``true`` into 1, so never trust that for
  types) and ``jsonb_typeof`` (PostgreSQL). Every comparison first checks the JSON type of both
  sides, so a boolean never equals a number and ``"1"`` never equals ``1``.
- Every comparison is made two-valued (``coalesce(..., false)``) so that ``not`` is the
  Python ``not``: SQL's NULL never leaks out of a leaf.
- Strings compare in code-point order: SQLite's BINARY collation, ``COLLATE "C"`` on
  PostgreSQL. ``eq_ci``/``contains_ci`` fold ASCII letters only: ``lower()`` on SQLite (ASCII-only
  unless SQLite was built with ICU), ``translate()`` with the 26 letters on PostgreSQL.
  Substring tests use ``instr``/``strpos`` and ``substr``/``left``/``right``, never LIKE.
- Numbers compare as numbers: SQLite compares integers and reals exactly; on PostgreSQL JSON
  numbers are ``numeric`` and values are bound as ``numeric`` from their ``repr``, so two floats
  compare as Python compares them (and ints with floats, below 2**52 in magnitude).
- Date operators read the value with ``timeutil.parse_data_instant`` semantics as epoch
  seconds in double precision: on SQLite through the function ``itinera_instant`` that
  ``install_sqlite_functions`` registers (it *is* ``parse_data_instant``), on PostgreSQL
  through ``itinera_instant(text)``, ``itinera_number_instant(double precision)`` and
  ``itinera_json_instant(jsonb)`` that ``install_postgres_functions`` creates (a port of the
  same rules, including what Python's ``fromisoformat`` rejects or oddly accepts). Bounds
  (``now``, ``now ± d``, ``before``/``after``) are bound as the same doubles, computed from
  exact microseconds, so boundaries are exact: two different microsecond instants are two
  different doubles for every year from 1698 to 2241. Instant *columns* (``created_at``,
  ``events.at``) are compared with bound datetimes directly (exact to the microsecond; the
  store keeps them in UTC).
- ``people``, ``performed``, ``buying_group`` and ``in_segment`` are set-wise: one grouped
  pass over their table, joined on the account (see ``_compile``), never a subquery per
  account. As in the reference, ``performed`` always counts the events of the account
  (``events.account`` is the account, or ``events.person`` is one of its people) and its
  ``where`` reads only the event's ``properties`` (and ``account.*``); a ``person.*`` path
  outside ``people.match`` is missing.

The tables are the caller's (``Tables``): the store defines them and calls the compiler, which
imports nothing of the store. Where each part lives: ``_compile`` walks the tree
(``select_accounts``); ``_functions`` the instant functions and their installers; ``_values``
the typed values, and how each database reads a JSON path; ``_dialects`` what SQLite and
PostgreSQL do differently otherwise; ``_expr`` small expression helpers. Each imports only
those listed after it.
"""

from itinera.conditions.sql._compile import Tables, select_accounts
from itinera.conditions.sql._functions import install_postgres_functions, install_sqlite_functions

__all__ = ["Tables", "install_postgres_functions", "install_sqlite_functions", "select_accounts"]
