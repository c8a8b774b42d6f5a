"""Managing quotas (admins): list with their use, create, change the limit, remove.

Every change is audited and drops the cached keys on every replica, so the next request of
an affected key is admitted under the new quota (the quotas travel with the principal).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import ApiKey, Quota, User
from bigshot_llm.errors import Conflict, NotFound, RequestValidationFailed
from bigshot_llm.schemas.quotas import QuotaCreate, QuotaPublic, QuotaUpdate, QuotaUsage
from bigshot_llm.services.access import audit
from bigshot_llm.services.access.auth import Authenticator, Principal
from bigshot_llm.services.quotas.gate import QuotaGate
from bigshot_llm.services.quotas.periods import window
from bigshot_llm.services.quotas.rules import QuotaRule, rule_of


def invalid(field: str, reason: str) -> RequestValidationFailed:
    return RequestValidationFailed(
        f"invalid request: {field}: {reason}",
        details=[{"loc": ["body", field], "field": field, "msg": reason, "type": "value_error"}],
        param=field,
    )


def _audited(row: Quota) -> dict[str, Any]:
    return {
        "subject": row.subject,
        "subject_id": row.subject_id,
        "metric": row.metric,
        "period": row.period,
        "limit": row.limit,
    }


async def own_usage(gate: QuotaGate, principal: Principal) -> list[QuotaUsage]:
    """The caller's quotas (their user's and their key's) with this period's use."""
    rules = list(principal.quotas)
    used = await gate.usage(rules) if rules else []
    rows = []
    for index, rule in enumerate(rules):
        value = used[index].used if used is not None else None
        rows.append(
            QuotaUsage(
                **asdict(rule),
                used=value,
                remaining=None if value is None else max(0.0, rule.limit - value),
                resets_at=window(rule.period, gate.clock()).end,
            )
        )
    return rows


class QuotaAdmin:
    def __init__(self, session: AsyncSession, auth: Authenticator, gate: QuotaGate) -> None:
        self.session = session
        self.auth = auth
        self.gate = gate

    async def listed(self) -> list[QuotaPublic]:
        rows = (
            await self.session.exec(
                select(Quota).order_by(col(Quota.subject), col(Quota.subject_id))
            )
        ).all()
        users = {u.id: u.name for u in (await self.session.exec(select(User))).all()}
        key_ids = [r.subject_id for r in rows if r.subject == "key"]
        keys = {
            k.id: k.name
            for k in (
                await self.session.exec(select(ApiKey).where(col(ApiKey.id).in_(key_ids)))
            ).all()
        }
        rules = [rule_of(r) for r in rows]
        used = await self.gate.usage(rules)
        return [
            self._public(
                row,
                (users if row.subject == "user" else keys).get(row.subject_id),
                None if used is None else used[i].used,
            )
            for i, row in enumerate(rows)
        ]

    def _public(self, row: Quota, name: str | None, used: float | None) -> QuotaPublic:
        return QuotaPublic(
            id=row.id,
            subject=row.subject,  # type: ignore[arg-type]
            subject_id=row.subject_id,
            subject_name=name,
            metric=row.metric,  # type: ignore[arg-type]
            period=row.period,  # type: ignore[arg-type]
            limit=row.limit,
            used=used,
            resets_at=window(row.period, self.gate.clock()).end,  # type: ignore[arg-type]
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    async def _one_used(self, rule: QuotaRule) -> float | None:
        used = await self.gate.usage([rule])
        return None if used is None else used[0].used

    async def _subject_name(self, subject: str, subject_id: str) -> str:
        if subject == "user":
            user = await self.session.get(User, subject_id)
            if user is None:
                raise invalid("subject_id", f"no user with id '{subject_id}'")
            return user.name
        key = await self.session.get(ApiKey, subject_id)
        if key is None or key.revoked_at is not None:
            raise invalid("subject_id", f"no active API key with id '{subject_id}'")
        return key.name

    async def _row(self, quota_id: str) -> Quota:
        row = await self.session.get(Quota, quota_id)
        if row is None:
            raise NotFound(f"quota '{quota_id}' not found")
        return row

    async def create(self, principal: Principal, body: QuotaCreate) -> QuotaPublic:
        name = await self._subject_name(body.subject, body.subject_id)
        existing = (
            await self.session.exec(
                select(Quota).where(
                    col(Quota.subject) == body.subject,
                    col(Quota.subject_id) == body.subject_id,
                    col(Quota.metric) == body.metric,
                    col(Quota.period) == body.period,
                )
            )
        ).first()
        if existing is not None:
            raise self._duplicate(existing)
        row = Quota(**body.model_dump())
        self.session.add(row)
        audit.record(self.session, principal, "quota.create", "quota", row.id, after=_audited(row))
        try:
            await self.session.commit()
        except IntegrityError:  # created concurrently
            await self.session.rollback()
            raise Conflict("this quota exists already", code="quota_exists") from None
        await self.auth.invalidate_everywhere()
        return self._public(row, name, await self._one_used(rule_of(row)))

    @staticmethod
    def _duplicate(existing: Quota) -> Conflict:
        return Conflict(
            f"a {existing.metric} quota per {existing.period} exists already for this "
            f"{existing.subject} (id '{existing.id}'); change its limit instead",
            code="quota_exists",
            param="metric",
            details={"id": existing.id},
        )

    async def update(self, principal: Principal, quota_id: str, body: QuotaUpdate) -> QuotaPublic:
        row = await self._row(quota_id)
        if row.metric in ("requests", "tokens") and not float(body.limit).is_integer():
            raise invalid("limit", f"{row.metric} are counted in whole numbers")
        before = _audited(row)
        row.limit = body.limit
        audit.record_change(
            self.session,
            principal,
            row,
            "quota.update",
            "quota",
            row.id,
            before=before,
            after=_audited(row),
        )
        await self.session.commit()
        await self.auth.invalidate_everywhere()
        name = await self._subject_name_or_none(row)
        return self._public(row, name, await self._one_used(rule_of(row)))

    async def _subject_name_or_none(self, row: Quota) -> str | None:
        found: User | ApiKey | None
        if row.subject == "user":
            found = await self.session.get(User, row.subject_id)
        else:
            found = await self.session.get(ApiKey, row.subject_id)
        return None if found is None else found.name

    async def delete(self, principal: Principal, quota_id: str) -> QuotaPublic:
        row = await self._row(quota_id)
        name = await self._subject_name_or_none(row)
        public = self._public(row, name, await self._one_used(rule_of(row)))
        await self.session.delete(row)
        audit.record(
            self.session, principal, "quota.delete", "quota", quota_id, before=_audited(row)
        )
        await self.session.commit()
        await self.auth.invalidate_everywhere()
        return public
