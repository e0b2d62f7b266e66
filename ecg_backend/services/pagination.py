"""Page through an owner-scoped SQLAlchemy select: ``{"items", "total", "page", "per_page"}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from ecg_backend.errors import InputError
from ecg_backend.extensions import db

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000  # keeps OFFSET inside a database integer


def page_args(args) -> tuple[int, int]:
    """``page`` and ``per_page`` from query arguments, validated (400 with a message when not integers)."""
    values = {}
    for name, default, upper in (("page", 1, MAX_PAGE), ("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)):
        raw = args.get(name, default)
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise InputError(
                f"'{name}' must be a positive integer, got {raw!r}", kind="malformed", details={"field": name}
            ) from None
        if value < 1 or value > upper:
            raise InputError(
                f"'{name}' must be an integer between 1 and {upper}, got {value}",
                kind="malformed",
                details={"field": name},
            )
        values[name] = value
    return values["page"], values["per_page"]


def paginate(query, page: int, per_page: int, serialise: Callable[[Any], dict]) -> dict:
    """Run ``query`` (a select of one entity) for one page and count the total."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [serialise(row) for row in rows], "total": total, "page": page, "per_page": per_page}
