"""Small SQL expression helpers shared by the condition compiler's modules.

``Bool``/``Expr`` name the SQLAlchemy expression types; ``all_of``/``any_of`` are AND/OR that
accept no operands; ``definite`` reads NULL as false; ``exists``/``scalar`` build subqueries
correlated to every enclosing query.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

__all__ = ["Bool", "Expr", "all_of", "any_of", "definite", "exists", "scalar"]

Bool = ColumnElement[bool]
Expr = ColumnElement[Any]


def all_of(*items: Bool) -> Bool:
    """AND of ``items``; true when there are none."""
    return sa.and_(*items) if items else sa.true()


def any_of(*items: Bool) -> Bool:
    """OR of ``items``; false when there are none."""
    return sa.or_(*items) if items else sa.false()


def definite(expr: Bool) -> Bool:
    """``expr`` with NULL read as false, so that ``not`` means what it means in Python."""
    return sa.func.coalesce(expr, sa.false(), type_=sa.Boolean)


def exists(table: FromClause, *where: Bool) -> Bool:
    """EXISTS over ``table``, correlated to every enclosing query (at any depth)."""
    return sa.exists(sa.select(sa.literal(1)).select_from(table).where(*where)
                     .correlate_except(table))


def scalar(table: FromClause, column: Expr, *where: Bool) -> Expr:
    """A scalar subquery over ``table``, correlated like ``exists``."""
    return (sa.select(column).select_from(table).where(*where).correlate_except(table)
            .scalar_subquery())
