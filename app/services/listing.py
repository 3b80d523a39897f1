"""Pagination, sorting and the portable filters that list endpoints share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, func, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import Select
from sqlmodel import Session

from app.errors import Invalid
from app.i18n import msg


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int
    sort: str | None = None


def json_list_contains(session: Session, column: Any, value: str):
    """Rows whose JSON list column holds ``value`` (JSONB ``@>`` on PostgreSQL, a text match on SQLite)."""
    value = str(getattr(value, "value", value))
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(column, JSONB).contains([value])
    return cast(column, String).like(f'%"{value}"%')


def json_list_empty(session: Session, column: Any):
    """Rows whose JSON list column is the empty list."""
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(column, JSONB) == type_coerce([], JSONB)
    return cast(column, String) == "[]"


def text_match(q: str, *columns: Any):
    return or_(*[c.icontains(q, autoescape=True) for c in columns])


def paginate(session: Session, stmt: Select, page: PageParams, sortable: dict[str, Any], default: str,
             with_columns: Sequence[Any] = (), join: tuple[Any, Any] | None = None):
    """Run ``stmt`` with sorting and a page window; returns (rows, total).

    ``with_columns`` (and ``join``, (table, on clause) of an outer join they come from): columns loaded with each
    row of the page but not counted, so that a list reads its rows' organisations in the same statement. The rows
    are then Core rows, not entities: the entity's columns first (read by name as on the entity; ``row_fields``
    makes the dict its ``model_dump`` would), then ``with_columns``. A page built into public models never needed
    the ORM's instances, and skipping them and their dump is an eighth of a list's CPU (docs/decisions.md)."""
    key = page.sort or default
    desc = key.startswith("-")
    name = key.lstrip("-")
    if name not in sortable:
        allowed = ", ".join(sorted(sortable))
        raise Invalid("sort", msg("Cannot sort by '{name}'; choose one of: {allowed} (prefix '-' for descending).",
                                  name=name, allowed=allowed))
    col = sortable[name]
    if stmt._distinct or stmt._group_by_clauses:  # the rows are not the table's: count what the statement yields
        counted = select(func.count()).select_from(stmt.order_by(None).subquery())
    else:  # SELECT count(*) FROM <the same tables> WHERE <the same clauses>, without a subquery to build
        counted = stmt.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
    total = session.scalar(counted) or 0
    order = [col.desc() if desc else col.asc()]
    pk = stmt.column_descriptions[0]["entity"].id
    order.append(pk.desc() if desc else pk.asc())  # stable order for ties
    if with_columns:
        table = stmt.column_descriptions[0]["entity"].__table__
        stmt = stmt.with_only_columns(*table.c, *with_columns, maintain_column_froms=True)
        if join is not None:
            stmt = stmt.outerjoin(*join)
        return list(session.execute(stmt.order_by(*order).limit(page.limit).offset(page.offset)).all()), total
    rows = session.exec(stmt.order_by(*order).limit(page.limit).offset(page.offset)).all()
    return list(rows), total


def row_fields(row: Any, model: type) -> dict[str, Any]:
    """The dict ``model_dump`` gives of an entity, from a ``paginate(with_columns=...)`` row of that entity (its
    columns come first, in the table's order) or from the entity itself."""
    if isinstance(row, model):
        return row.model_dump()
    return dict(zip(model.__table__.c.keys(), row))
