"""Managing API keys and users: create, list, revoke, rename or limit, each change audited.

Users manage their own keys; admins anyone's, and only admins choose users, roles or limits.
Every change that affects authentication is forgotten by the key cache of every replica.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.db.models import ApiKey, Quota, User, utcnow
from bigshot_llm.errors import Conflict, Forbidden, NotFound
from bigshot_llm.schemas.access import (
    KeyCreate,
    KeyCreated,
    KeyPublic,
    KeyUpdate,
    UserPublic,
    UserUpdate,
)
from bigshot_llm.services.access import audit
from bigshot_llm.services.access.auth import Authenticator, Principal, create_key, ensure_user


def key_public(key: ApiKey, user_name: str | None = None) -> KeyPublic:
    public = KeyPublic.model_validate(key, from_attributes=True)
    public.user_name = user_name
    return public


def user_public(user: User) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


class KeyService:
    def __init__(
        self, session: AsyncSession, auth: Authenticator, *, max_keys_per_user: int = 0
    ) -> None:
        self.session = session
        self.auth = auth
        self.max_keys_per_user = max_keys_per_user

    async def _check_key_cap(self, user_id: str) -> None:
        """A user may hold `max_keys_per_user` active keys (0: unlimited): more keys never buy
        more limits, but an endless supply of keys is an endless supply of things to revoke."""
        cap = self.max_keys_per_user
        if not cap:
            return
        stmt = (
            select(func.count())
            .select_from(ApiKey)
            .where(col(ApiKey.user_id) == user_id, col(ApiKey.revoked_at).is_(None))
        )
        active = (await self.session.exec(stmt)).one()
        if active >= cap:
            raise Conflict(
                f"you already have {active} active keys, the most a user may hold "
                f"(BIGSHOT_MAX_KEYS_PER_USER={cap}); revoke one first",
                code="too_many_keys",
            )

    async def create(self, principal: Principal, body: KeyCreate) -> KeyCreated:
        session = self.session
        limits_given = body.rate_limit_per_minute is not None or body.max_streams is not None
        if (body.user or body.role or limits_given) and not principal.is_admin:
            raise Forbidden("only admins can create keys for other users, choose roles or limits")
        if body.user:
            user = await ensure_user(session, body.user, body.role or "user")
            if body.role and user.role != body.role:
                raise Conflict(
                    f"user '{body.user}' exists with role '{user.role}'",
                    details=[{"loc": ["body", "role"], "msg": "does not match the existing user"}],
                )
        else:
            own = await session.get(User, principal.user_id)
            if own is None:
                raise NotFound("your user no longer exists")
            user = own
            if not principal.is_admin:
                await self._check_key_cap(user.id)
        key, clear = await create_key(session, user, body.name)
        key.rate_limit_per_minute = body.rate_limit_per_minute
        key.max_streams = body.max_streams
        audit.record(
            session,
            principal,
            "key.create",
            "api_key",
            key.id,
            after={"name": key.name, "prefix": key.prefix, "user": user.name, "role": user.role},
        )
        await session.commit()
        return KeyCreated(**key_public(key, user.name).model_dump(), key=clear)

    async def listed(self, principal: Principal, *, include_revoked: bool) -> list[KeyPublic]:
        stmt = select(ApiKey, User).join(User, col(User.id) == col(ApiKey.user_id))
        if not principal.is_admin:
            stmt = stmt.where(col(ApiKey.user_id) == principal.user_id)
        if not include_revoked:
            stmt = stmt.where(col(ApiKey.revoked_at).is_(None))
        rows = (await self.session.exec(stmt.order_by(col(ApiKey.created_at)))).all()
        return [key_public(key, user.name) for key, user in rows]

    async def _manageable(self, principal: Principal, key_id: str) -> ApiKey:
        key = await self.session.get(ApiKey, key_id)
        if key is None or (key.user_id != principal.user_id and not principal.is_admin):
            raise NotFound(f"key '{key_id}' not found")
        return key

    async def revoke(self, principal: Principal, key_id: str) -> KeyPublic:
        key = await self._manageable(principal, key_id)
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            self.session.add(key)
            await self._drop_quotas(key_ids=[key.id])  # a revoked key is never used again
            audit.record(
                self.session, principal, "key.revoke", "api_key", key.id, before={"name": key.name}
            )
            await self.session.commit()
        await self.auth.invalidate_everywhere(key.key_hash)  # every replica, within ~1 s
        return key_public(key)

    async def update(self, principal: Principal, key_id: str, body: KeyUpdate) -> KeyPublic:
        key = await self._manageable(principal, key_id)
        changes = body.model_dump(exclude_unset=True)
        admin_only = {"rate_limit_per_minute", "max_streams", "priority"}
        if admin_only & changes.keys() and not principal.is_admin:
            raise Forbidden("only admins can change a key's limits or priority")
        changes = {k: v for k, v in changes.items() if not (k == "name" and v is None)}
        self._change(principal, "key.update", "api_key", key, key_public, changes)
        await self.session.commit()
        await self.auth.invalidate_everywhere(key.key_hash)  # every replica, within ~1 s
        return key_public(key)

    def _change(
        self,
        principal: Principal,
        action: str,
        kind: str,
        row: ApiKey | User,
        public: Callable[[Any], BaseModel],
        changes: dict[str, Any],
    ) -> None:
        """Apply `changes` to `row` and audit them, as its public form before and after."""
        before = public(row).model_dump()
        for name, value in changes.items():
            setattr(row, name, value)
        self.session.add(row)
        after = public(row).model_dump()
        audit.record(self.session, principal, action, kind, row.id, before=before, after=after)

    async def _drop_quotas(self, *, user_id: str | None = None, key_ids: list[str]) -> None:
        """Quotas name their subject without a foreign key (one column for a user or a key):
        they go with it here, in the same transaction."""
        subjects = [(col(Quota.subject) == "key") & col(Quota.subject_id).in_(key_ids)]
        if user_id is not None:
            subjects.append((col(Quota.subject) == "user") & (col(Quota.subject_id) == user_id))
        await self.session.exec(delete(Quota).where(or_(*subjects)))  # type: ignore[call-overload]

    async def users(self) -> list[UserPublic]:
        users = (await self.session.exec(select(User).order_by(col(User.created_at)))).all()
        return [user_public(u) for u in users]

    async def _user(self, user_id: str) -> User:
        user = await self.session.get(User, user_id)
        if user is None:
            raise NotFound(f"user '{user_id}' not found")
        return user

    async def update_user(self, principal: Principal, user_id: str, body: UserUpdate) -> UserPublic:
        """An admin sets a user's limits, shared by all the user's keys."""
        user = await self._user(user_id)
        changes = body.model_dump(exclude_unset=True)
        self._change(principal, "user.update", "user", user, user_public, changes)
        await self.session.commit()
        await self.auth.invalidate_everywhere()  # every key of the user, on every replica
        return user_public(user)

    async def delete_user(self, principal: Principal, user_id: str) -> UserPublic:
        """An admin removes a user: keys, providers, conversations and stream tokens end."""
        user = await self._user(user_id)
        if user.id == principal.user_id:
            raise Conflict("you cannot remove your own user")
        before = user_public(user)
        keys = await self.session.exec(select(ApiKey.id).where(col(ApiKey.user_id) == user.id))
        await self._drop_quotas(user_id=user.id, key_ids=list(keys.all()))
        await self.session.delete(user)  # keys, providers, conversations … (ON DELETE CASCADE)
        audit.record(
            self.session, principal, "user.delete", "user", user_id, before=before.model_dump()
        )
        await self.session.commit()
        await self.auth.invalidate_everywhere()
        return before
