"""Per-model load presets: LM Studio load options stored in the gateway.

A preset for one provider wins over one for every provider (`scope` "any"). The gateway
applies it whenever it loads the model: request-time loads under the exclusive policy, and
`POST …/models/{model}/load`, whose own options win over the preset's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import ModelPreset, utcnow
from bigshot_llm.errors import NotFound
from bigshot_llm.schemas.model_ops import LoadOptions, PresetPublic
from bigshot_llm.services.generation.routing import Target

ANY = "any"


def public(preset: ModelPreset) -> PresetPublic:
    return PresetPublic(
        model=preset.model,
        provider_id=None if preset.scope == ANY else preset.scope,
        options=dict(preset.options),
        updated_at=preset.updated_at.isoformat(),
    )


class ModelPresets:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def lookup(self, target: Target, model: str) -> dict[str, Any]:
        """The options to load `model` on `target` with ({} when no preset applies)."""
        async with self.sessions() as session:
            rows = (
                await session.exec(
                    select(ModelPreset).where(
                        ModelPreset.model == model,
                        col(ModelPreset.scope).in_([target.record.id, ANY]),
                    )
                )
            ).all()
        by_scope = {row.scope: row for row in rows}
        chosen = by_scope.get(target.record.id) or by_scope.get(ANY)
        return LoadOptions(**chosen.options).given() if chosen is not None else {}

    async def list(self) -> list[PresetPublic]:
        async with self.sessions() as session:
            rows = (await session.exec(select(ModelPreset).order_by(col(ModelPreset.model)))).all()
        return [public(row) for row in rows]

    async def put(self, model: str, provider_id: str | None, options: LoadOptions) -> PresetPublic:
        scope = provider_id or ANY
        async with self.sessions() as session:
            row = await _find(session, model, scope) or ModelPreset(scope=scope, model=model)
            row.options = options.given()
            row.updated_at = utcnow()
            session.add(row)
            await session.commit()
            await session.refresh(row)
            return public(row)

    async def delete(self, model: str, provider_id: str | None) -> None:
        scope = provider_id or ANY
        async with self.sessions() as session:
            row = await _find(session, model, scope)
            if row is None:
                raise NotFound(f"no preset for model '{model}'", code="preset_not_found")
            await session.delete(row)
            await session.commit()


async def _find(session: AsyncSession, model: str, scope: str) -> ModelPreset | None:
    stmt = select(ModelPreset).where(ModelPreset.model == model, ModelPreset.scope == scope)
    return (await session.exec(stmt)).first()
