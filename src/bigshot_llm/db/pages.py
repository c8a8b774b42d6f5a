"""One page of rows and the total count, the way every listing of the API pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

M = TypeVar("M", bound=SQLModel)


async def fetch_page(
    session: AsyncSession,
    model: type[M],
    where: Sequence[Any],
    order_by: Sequence[Any],
    *,
    limit: int,
    offset: int,
) -> tuple[list[M], int]:
    """Rows of `model` matching every condition of `where`, in order; and how many match."""
    counted = select(func.count()).select_from(model).where(*where)
    total = (await session.exec(counted)).one()
    stmt = select(model).where(*where).order_by(*order_by).offset(offset).limit(limit)
    return list((await session.exec(stmt)).all()), int(total)
