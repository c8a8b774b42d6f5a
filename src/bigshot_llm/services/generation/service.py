"""The one use-case the gateway exists for: relaying a generation, the same for every surface.

`GenerationService.stream` resolves provider and model, admits the request (a stream slot),
builds the upstream body, and returns a `Generation`: an async iterator of typed events
(`events.Chunk` per upstream chunk, then `Done` or `Failed`) that calls the provider,
measures the stream and meters its usage however it ends. `GenerationService.call` does the
same for one-shot requests (chat, completion, embeddings). The native API, `/v1`, chat
streams and compare call these and keep only their encoders; nothing here knows HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote

from bigshot_llm.aio import close_iterator
from bigshot_llm.errors import Conflict, GatewayError
from bigshot_llm.providers.base import StreamChunk
from bigshot_llm.providers.pool import PooledProvider
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.access.slots import Slot, StreamSlots
from bigshot_llm.services.generation import shapes, upstream_fields
from bigshot_llm.services.generation.adapt import prepare_chat
from bigshot_llm.services.generation.admission import Admission, Pass
from bigshot_llm.services.generation.capacity import Lane
from bigshot_llm.services.generation.events import Chunk, Done, Event, Failed, Loading, Queued
from bigshot_llm.services.generation.extract import (
    ChatExtractor,
    CompletionExtractor,
    Extractor,
)
from bigshot_llm.services.generation.fallbacks import FallbackPlan, falls_back, plan_for
from bigshot_llm.services.generation.images import ImageFetcher
from bigshot_llm.services.generation.model_switch import ModelSwitcher
from bigshot_llm.services.generation.native import (
    NativeCall,
    forwarded_body,
    native_call,
    native_stream,
    speaks,
)
from bigshot_llm.services.generation.routing import Router, Target
from bigshot_llm.services.generation.stats import StreamStats
from bigshot_llm.services.generation.sticky import client_session, session_key
from bigshot_llm.services.generation.structured import check_answer, is_strict_schema
from bigshot_llm.services.providers.lifecycle import may_load, supports_loading
from bigshot_llm.services.providers.registry import ProviderRecord
from bigshot_llm.services.quotas.gate import QuotaGate, QuotaPass
from bigshot_llm.services.usage.gpu_time import GpuMeter
from bigshot_llm.services.usage.metering import (
    CANCELLED,
    Ticket,
    finish_stream,
    status_of,
    watch_call,
)
from bigshot_llm.services.usage.pricing import Rates
from bigshot_llm.services.usage.recorder import UsageRecorder, UsageSource

if TYPE_CHECKING:
    from bigshot_llm.services.telemetry import Tracing
    from bigshot_llm.services.telemetry.genai import GenerationTrace

log = logging.getLogger(__name__)
_Served = TypeVar("_Served")  # what one attempt of a call or a stream gives

Operation = Literal["chat", "completion", "embeddings"]

# Providers that only know `max_tokens` get `max_completion_tokens` translated.
KNOWS_MAX_COMPLETION_TOKENS = frozenset({"openai"})
FIRST_CHUNK_GRACE_SECONDS = 2.0


@dataclass(slots=True)
class GenerationRequest:
    """What a surface asks for, in the upstream's (OpenAI's) shape.

    `body` is the request body without `model` decisions made: the service sets the model,
    the stream flags and the token-limit name the provider knows. `provider`/`model` are
    the caller's references (a `provider/model` id routes by its prefix); `target` and
    `model` given together skip resolution (chat streams resolve early, to fit the context).
    """

    principal: Principal
    operation: Operation
    body: dict[str, Any]
    endpoint: str
    provider: str | None = None
    model: str | None = None
    target: Target | None = None
    prompt_estimate: int | None = None
    # Admission: the conversation a request belongs to (sticky routing; derived from the
    # messages when None), its priority class, and how long it may wait for a GPU slot.
    session: str | None = None
    priority: str | None = None  # the surface's class; a key's own class wins
    queue_timeout: float | None = None
    # What the caller should be told but that did not stop the request (a dropped
    # `reasoning_effort`); surfaces send them as `X-Bigshot-Warning`.
    warnings: list[str] = field(default_factory=list)
    # The client's own Messages/Responses request: forwarded as it is when the provider
    # speaks that API (`generation.native`); `body` is then only its chat translation.
    native: NativeCall | None = None


@dataclass(slots=True)
class Answer:
    """A one-shot call's result: upstream's OpenAI JSON and where it came from."""

    result: dict[str, Any]
    target: Target
    model: str
    upstream_ms: float | None
    lane: Lane | None = None  # where admission sent it (None: not admission-controlled)
    native: bool = False  # forwarded as is: `result["raw"]` is the upstream's answer
    server: str | None = None  # the pool member that answered (None: the lane's, or no pool)
    fallback_from: list[dict[str, Any]] = field(default_factory=list)  # failed before it

    def served_by_header(self) -> dict[str, str]:
        """`X-Bigshot-Served-By: <server> <instance>` when admission chose the lane or a
        fallback answered, and `X-Bigshot-Fallback: <provider> <model>` for a fallback."""
        headers: dict[str, str] = {}
        if self.lane is not None:
            server = self.server or self.lane.server
            headers["X-Bigshot-Served-By"] = f"{server} {_header_text(self.lane.instance)}"
        if self.fallback_from:
            server = self.server or self.target.record.base_url
            headers.setdefault("X-Bigshot-Served-By", f"{server} {_header_text(self.model)}")
            name, model = _header_text(self.target.record.name), _header_text(self.model)
            headers["X-Bigshot-Fallback"] = f"{name} {model}"
        return headers


def _header_text(value: str) -> str:
    """Names may hold any printable character; a header only latin-1 (spaces kept)."""
    return quote(value, safe=" /:@+,;=()[]!*'~")


def adapt_token_limit(body: dict[str, Any], kind: str) -> None:
    """`max_completion_tokens` → `max_tokens` for upstreams that only know the latter."""
    if kind in KNOWS_MAX_COMPLETION_TOKENS or "max_completion_tokens" not in body:
        return
    limit = body.pop("max_completion_tokens")
    if limit is None:
        return
    current = body.get("max_tokens")
    body["max_tokens"] = limit if current is None else min(limit, current)


class GenerationService:
    def __init__(
        self,
        router: Router,
        slots: StreamSlots,
        usage: UsageRecorder | None = None,
        images: ImageFetcher | None = None,
        *,
        max_choices: int = 1,
        admission: Admission | None = None,
        switcher: ModelSwitcher | None = None,
        gpu_meter: GpuMeter | None = None,
        quotas: QuotaGate | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.router = router
        self.slots = slots
        self.usage = usage
        self.images = images
        self.max_choices = max_choices  # `n` for non-admin keys (BIGSHOT_MAX_CHOICES_USER)
        self.admission = admission
        self.switcher = switcher
        self.gpu_meter = gpu_meter or GpuMeter()  # each request's share of its lane's time
        self.quotas = quotas
        self.tracing = tracing  # None: traces are off (README "Traces")

    async def resolve(self, request: GenerationRequest) -> tuple[Target, str]:
        """The provider and the upstream model id for a request."""
        if request.target is not None and request.model is not None:
            target, model = request.target, request.model
        else:
            route = self.router.route(request.principal, request.model, request.provider)
            embeddings = request.operation == "embeddings"
            target = route.target
            model = await self.router.pick_model(target, route.model, embeddings=embeddings)
        await self._check_loading_policy(request.principal, target, model)
        return target, model

    async def _check_loading_policy(self, principal: Principal, target: Target, model: str) -> None:
        """A request naming a model that is not loaded makes LM Studio load it (JIT), evicting
        others: the same policy as `/load` decides whether that may happen."""
        if principal.is_admin or not supports_loading(target.provider):
            return
        state = await self.router.catalog.state_of(target.record, target.provider, model)
        if state != "not-loaded":
            return  # loaded, or nothing known: nothing to decide
        if await may_load(principal, target.record, self.router.registry):
            return
        raise Conflict(
            f"model '{model}' is not loaded on provider '{target.record.name}', and only admins "
            "may load models on a shared server; pick a loaded model, or ask an admin to load "
            "it (POST /api/v1/llm-providers/models/{model}/load)",
            code="model_not_loaded",
            param="model",
            details={"model": model, "provider": target.record.name},
        )

    def _body(self, request: GenerationRequest, target: Target, model: str) -> dict[str, Any]:
        body = request.body
        if not request.principal.is_admin:
            upstream_fields.restrict(body, request.operation, max_choices=self.max_choices)
        body["model"] = model
        if request.operation != "embeddings":
            adapt_token_limit(body, target.record.kind)
        return body

    async def _prepared(
        self, request: GenerationRequest, target: Target, model: str
    ) -> dict[str, Any]:
        """The upstream body: the caller's, with the model and what this upstream needs."""
        body = self._body(request, target, model)
        if request.operation == "chat":
            await prepare_chat(
                body,
                target,
                model,
                router=self.router,
                images=self.images,
                warnings=request.warnings,
            )
        return body

    def _ticket(
        self, request: GenerationRequest, target: Target, model: str, *, streamed: bool
    ) -> Ticket | None:
        if self.usage is None:
            return None
        principal, record = request.principal, target.record
        source = UsageSource(
            principal.user_id,
            principal.key_id,
            record.id,
            record.name,
            model,
            request.endpoint,
            streamed,
        )
        # Labels only for what the provider listed: a made-up model name (or a user's own
        # provider name) must not become a permanent /metrics series.
        provider_label, model_label = metric_labels(record, model, self.router.catalog.listed)
        price = record.price_of(model)
        rates = Rates(record.watts_per_instance, *(price or (None, None)))
        return Ticket(
            self.usage,
            source,
            metric_provider=provider_label,
            metric_model=model_label,
            rates=rates,
        )

    async def _pass(
        self, request: GenerationRequest, target: Target, model: str, body: dict[str, Any]
    ) -> Pass | None:
        """Admission to the model's GPU slots (None: not controlled); `QueueFull` at once."""
        if self.admission is None or request.operation == "embeddings":
            return None
        await self._learn_slots(target, model)
        return await self.admission.pass_for(
            target,
            model,
            user=request.principal.user_id,
            priority=request.principal.priority or request.priority or "normal",
            sessions=tuple(filter(None, (request.session, session_key(body)))),
            timeout=request.queue_timeout,
            labels=metric_labels(target.record, model, self.router.catalog.listed),
        )

    async def _learn_slots(self, target: Target, model: str) -> None:
        """Before the first admission to a provider's model (after its config changed, or after
        a JIT load), read the detailed model list, so its instances' slots are known rather
        than assumed (concurrent requests share the one listing). A pool's members are listed
        by their health checks; a failed listing leaves the assumed slots."""
        if self.admission is None or isinstance(target.provider, PooledProvider):
            return
        catalog, record = self.router.catalog, target.record
        if catalog.instances(record, model) or not self.admission.capacity.controlled(
            target, model
        ):
            return
        with contextlib.suppress(GatewayError):  # the generation reports the provider's trouble
            if catalog.instances(record, model) is None:
                await catalog.get(record, target.provider, detailed=True)
            if catalog.instances(record, model) == []:
                # Not loaded: this request JIT-loads it. The listing goes stale, and the next
                # request reads the loaded instance's slots.
                await catalog.invalidate(record, instances=True)

    async def _quota(self, request: GenerationRequest) -> QuotaPass | None:
        """The caller's quotas (README "Quotas"): `QuotaExceeded` (429) when one is used up."""
        if self.quotas is None or not request.principal.quotas:
            return None
        return await self.quotas.admit(request.principal.quotas)

    async def _admit(
        self,
        request: GenerationRequest,
        target: Target,
        model: str,
        body: dict[str, Any],
        *,
        slot: bool,
    ) -> tuple[QuotaPass | None, Pass | None, Slot | None]:
        """Quotas, then the GPU pass, then (if asked) the caller's stream slot; a refusal at
        any step gives back what the earlier ones took: the request did not count."""
        quota = await self._quota(request)
        admitted: Pass | None = None
        try:
            admitted = await self._pass(request, target, model, body)
            held = await self.slots.acquire(request.principal) if slot else None
        except BaseException:
            if admitted is not None:
                await admitted.release()
            if quota is not None:
                await quota.refund()
            raise
        return quota, admitted, held

    # ---- fallbacks (before the first byte only) -------------------------------------------

    def _plan(self, request: GenerationRequest) -> FallbackPlan | None:
        """The fallbacks of the request's provider (None: it has none, or none resolves)."""
        if request.target is not None:
            target, model = request.target, request.model
        else:
            try:
                route = self.router.route(request.principal, request.model, request.provider)
            except GatewayError:
                return None
            target, model = route.target, route.model
        return plan_for(self.router, request.principal, target, model, request.body)

    def _fallback(
        self,
        plan: FallbackPlan | None,
        request: GenerationRequest,
        exc: GatewayError,
        failed: tuple[str, str | None],
    ) -> GenerationRequest | None:
        """The request for the next fallback after `exc` (None: no fallback applies)."""
        if plan is None or not falls_back(exc):
            return None
        plan.failed(*failed, exc)
        following = plan.next()
        if following is None:
            return None
        provider_id, model = following
        return replace(
            request,
            body=copy.deepcopy(plan.body),
            provider=provider_id,
            model=model,
            target=None,
            prompt_estimate=None,
        )

    @staticmethod
    def _where(request: GenerationRequest) -> tuple[str, str | None]:
        if request.target is not None:
            return request.target.record.name, request.model
        return request.provider or "active", request.model

    def _trace(
        self, request: GenerationRequest, target: Target, model: str, body: dict[str, Any]
    ) -> GenerationTrace | None:
        if self.tracing is None:
            return None
        return self.tracing.generation(
            operation=request.operation,
            record=target.record,
            model=model,
            body=body,
            streamed=bool(body.get("stream")),
            endpoint=request.endpoint,
        )

    async def call(self, request: GenerationRequest) -> Answer:
        """A one-shot chat, completion or embeddings call, metered; a failure before the
        answer goes to the provider's fallbacks, in order."""
        plan = self._plan(request)
        answer, _ = await self._first_served(plan, request, self._call_once)
        if plan is not None:
            answer.fallback_from = list(plan.tried)
        return answer

    async def _first_served(
        self,
        plan: FallbackPlan | None,
        request: GenerationRequest,
        attempt: Callable[[GenerationRequest], Awaitable[_Served]],
    ) -> tuple[_Served, GenerationRequest]:
        """`attempt(request)`, then each fallback the plan has for the failure before, until
        one is served: what it gave and the request that got it (none left: the last error)."""
        while True:
            try:
                return await attempt(request), request
            except GatewayError as exc:
                following = self._fallback(plan, request, exc, self._where(request))
                if following is None:
                    raise
                request = following

    async def _call_once(self, request: GenerationRequest) -> Answer:
        target, model = await self.resolve(request)
        request.session = request.session or client_session(request.body)
        native = request.native
        forward = native is not None and await speaks(target, native.api)
        body = request.body if forward else await self._prepared(request, target, model)
        trace = self._trace(request, target, model, body)
        if trace is None:
            return await self._call(request, target, model, body, forward, None)
        return await trace.call(lambda: self._call(request, target, model, body, forward, trace))

    async def _call(
        self,
        request: GenerationRequest,
        target: Target,
        model: str,
        body: dict[str, Any],
        forward: bool,
        trace: GenerationTrace | None,
    ) -> Answer:
        admit_started = time.time_ns() if trace is not None else 0
        quota, admitted, _ = await self._admit(request, target, model, body, slot=False)
        ticket: Ticket | None = None
        try:
            if self.switcher is not None and request.operation != "embeddings":
                async for _ in self.switcher.prepare(target, model):
                    pass  # nobody to tell: a one-shot call just waits for the load
            lane: Lane | None = None
            if admitted is not None:
                async for _ in admitted.wait():
                    pass  # likewise for the queue: the answer comes when the slot does
                lane = admitted.lane
            if trace is not None and (admitted is not None or self.switcher is not None):
                trace.admitted(admit_started, admitted, None)
            answered: list[str] = []
            native = request.native
            if forward and native is not None:
                admin = request.principal.is_admin
                call = native_call(target, native.api, forwarded_body(native, model, lane, admin))
            else:
                call = _one_shot(target, request.operation, body, lane, answered.append)
            ticket = self._ticket(request, target, model, streamed=False)
            if ticket is None:
                result, upstream_ms = await call, None
            else:
                ticket.queue_ms = queue_ms(admitted)
                timer = ticket.gpu = self.gpu_meter.start(gpu_lane(target, model, lane))
                try:
                    result, upstream_ms = await watch_call(ticket, call)
                finally:
                    timer.stop()  # watch_call recorded it; this only covers an escape before
            server = answered[-1] if answered else None
            if server is not None and admitted is not None:
                admitted.answered_on(server)
            return Answer(result, target, model, upstream_ms, lane, forward, server)
        finally:
            if admitted is not None:
                await admitted.release()
            if quota is not None:
                await quota.charge(ticket.event if ticket is not None else None)

    async def stream(self, request: GenerationRequest, *, admit: bool = True) -> Generation:
        """A streamed chat or completion, admitted (unless the caller holds the slot itself)
        but not started: iterate it (or `start` it) to call the provider. A failure before
        the first byte (here, or in the generation) goes to the provider's fallbacks."""
        return await self._stream_chain(request, self._plan(request), admit=admit)

    async def _stream_chain(
        self, request: GenerationRequest, plan: FallbackPlan | None, *, admit: bool
    ) -> Generation:
        generation, request = await self._first_served(
            plan, request, lambda following: self._stream_once(following, admit=admit)
        )
        if plan is not None:
            generation.fallback_from = list(plan.tried)
            generation.fallback = self._next_stream(plan, request)
        return generation

    def _next_stream(
        self, plan: FallbackPlan, request: GenerationRequest
    ) -> Callable[[Generation, GatewayError], Awaitable[Generation | None]]:
        async def next_stream(failed: Generation, exc: GatewayError) -> Generation | None:
            where = (failed.target.record.name, failed.model)
            following = self._fallback(plan, request, exc, where)
            if following is None:
                return None
            return await self._stream_chain(following, plan, admit=False)  # its slot is handed on

        return next_stream

    async def _stream_once(self, request: GenerationRequest, *, admit: bool) -> Generation:
        target, model = await self.resolve(request)
        request.session = request.session or client_session(request.body)
        native = request.native
        if native is not None and await speaks(target, native.api):
            return await self._forward_stream(request, native, target, model, admit=admit)
        # Before the body is adapted: `json_object` may become a (non-strict) schema.
        response_format = request.body.get("response_format")
        body = await self._prepared(request, target, model)
        body["stream"] = True
        # Always ask for usage (our statistics); encoders forward it only if the client asked.
        body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        took = await self._admit(request, target, model, body, slot=admit)
        chat = request.operation == "chat"
        generation = self._generation(
            request,
            target,
            model,
            body,
            lambda lane, served: _upstream_stream(target, body, chat, lane, served),
            extract=(
                ChatExtractor(split_think_tags=target.record.splits_think_tags)
                if chat
                else CompletionExtractor()
            ),
            took=took,
        )
        if chat and is_strict_schema(response_format):
            generation.response_format = response_format
        return generation

    async def _forward_stream(
        self,
        request: GenerationRequest,
        native: NativeCall,
        target: Target,
        model: str,
        *,
        admit: bool,
    ) -> Generation:
        """A stream forwarded as it is: the same admission, slot, meter and measure as a
        translated one; its chunks carry the upstream's events (`raw`) and their reading as
        chat chunks (`data`), which is what the statistics see."""
        body = request.body  # the translation: the session key and the prompt estimate
        took = await self._admit(request, target, model, body, slot=admit)
        admin = request.principal.is_admin
        generation = self._generation(
            request,
            target,
            model,
            body,
            lambda lane, _served: native_stream(
                target, native.api, forwarded_body(native, model, lane, admin)
            ),
            extract=ChatExtractor(),
            took=took,
        )
        generation.native = True
        return generation

    def _generation(
        self,
        request: GenerationRequest,
        target: Target,
        model: str,
        body: dict[str, Any],
        upstream: Callable[[Lane | None, Served], AsyncIterator[StreamChunk]],
        *,
        extract: Extractor,
        took: tuple[QuotaPass | None, Pass | None, Slot | None],
    ) -> Generation:
        """A stream, translated or forwarded, with what `_admit` took for it: its statistics
        (the request's prompt estimate, else one of `body`), ticket, model load, warnings and
        trace."""
        quota, admitted, slot = took
        known = request.prompt_estimate
        stats = StreamStats(
            extract=extract,
            prompt_estimate=(
                (lambda: known)
                if known is not None
                else lambda: shapes.estimate_prompt_tokens(body)
            ),
        )
        ticket = self._ticket(request, target, model, streamed=True)
        generation = Generation(target, model, stats, upstream, ticket, self.slots, slot)
        generation.admitted = admitted
        generation.gpu_meter = self.gpu_meter
        generation.quota = quota
        if self.switcher is not None:
            switcher = self.switcher
            generation.prepare = lambda: switcher.prepare(target, model)
        generation.warnings = request.warnings
        generation.trace = self._trace(request, target, model, body)
        return generation


def gpu_lane(target: Target, model: str, lane: Lane | None) -> str:
    """The instance a request's GPU time is shared on: admission's lane, else (admission off
    or not controlling this provider) the provider's server and the model."""
    return lane.key if lane is not None else f"{target.record.base_url}|{model}"


def queue_ms(admitted: Pass | None) -> float | None:
    """How long a request waited for its GPU slot (None: it never queued)."""
    queued = None if admitted is None else admitted.queued_seconds()
    return None if queued is None else queued * 1000


def _upstream_body(body: dict[str, Any], lane: Lane | None) -> dict[str, Any]:
    """The body for the lane's instance: a duplicate instance (`key:2`) is named itself."""
    if lane is None or lane.instance == body.get("model"):
        return body
    return {**body, "model": lane.instance}


Served = Callable[[str], None]  # told the URL of the pool member that answered


def _upstream_stream(
    target: Target, body: dict[str, Any], chat: bool, lane: Lane | None, served: Served
) -> AsyncIterator[StreamChunk]:
    provider = target.provider
    body = _upstream_body(body, lane)
    if lane is not None and lane.member is not None and isinstance(provider, PooledProvider):
        return provider.stream_on(lane.member, body, chat=chat, served=served)
    return provider.stream_chat(body) if chat else provider.stream_complete(body)


def _one_shot(
    target: Target, operation: Operation, body: dict[str, Any], lane: Lane | None, served: Served
) -> Any:
    provider = target.provider
    if operation == "embeddings":
        return provider.embed(body)
    body = _upstream_body(body, lane)
    op = "chat" if operation == "chat" else "complete"
    if lane is not None and lane.member is not None and isinstance(provider, PooledProvider):
        return provider.call_on(lane.member, body, op, served)
    return provider.chat(body) if operation == "chat" else provider.complete(body)


@dataclass(eq=False)
class Generation:
    """One streamed generation in flight: iterate it for its events (once).

    However the iteration ends (finished, failed, the consumer closed it, its task was
    cancelled), the upstream request is closed, the usage is recorded and the slot is given
    back. Failures become the terminal `Failed` event; only cancellation propagates.
    """

    target: Target
    model: str
    stats: StreamStats
    _open: Callable[[Lane | None, Served], AsyncIterator[StreamChunk]]
    _ticket: Ticket | None
    _slots: StreamSlots
    _slot: Slot | None
    # Admission to the GPU slots, and the model load that must come first (exclusive policy).
    admitted: Pass | None = field(default=None, init=False)
    # The quotas it was admitted under: its usage is added when it ends; never cut by them.
    quota: QuotaPass | None = field(default=None, init=False)
    prepare: Callable[[], AsyncGenerator[Loading, None]] | None = field(default=None, init=False)
    _chunks: AsyncIterator[StreamChunk] | None = field(default=None, init=False)
    warnings: list[str] = field(default_factory=list, init=False)
    # A strict `json_schema` the answer is checked against (`parsed`/`parse_error` in done).
    response_format: dict[str, Any] | None = field(default=None, init=False)
    native: bool = field(default=False, init=False)  # chunks carry the client API's events
    _events: AsyncIterator[Event] | None = field(default=None, init=False)
    gpu_meter: GpuMeter | None = field(default=None, init=False)
    _early: list[Event] = field(default_factory=list, init=False)  # waited past in `start`
    _first: asyncio.Future[Event] | None = field(default=None, init=False)
    _settled: bool = field(default=False, init=False)
    _accounting: asyncio.Future[None] | None = field(default=None, init=False)
    # Fallbacks: the targets that failed before this one, and the next one to hand over to
    # when this one fails before the first byte (None: no fallbacks left or configured).
    fallback_from: list[dict[str, Any]] = field(default_factory=list, init=False)
    fallback: Callable[[Generation, GatewayError], Awaitable[Generation | None]] | None = field(
        default=None, init=False
    )
    server: str | None = field(default=None, init=False)  # the pool member that answered
    trace: GenerationTrace | None = field(default=None, init=False)  # None: traces are off

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._relay()

    async def start(self, grace: float = FIRST_CHUNK_GRACE_SECONDS) -> None:
        """Call the provider and wait up to `grace` for its first event, so a refused or
        failing upstream is raised here (and answered with a proper status) instead of
        inside a 200 stream. A slow first token (prompt processing, a model load) just lets
        the stream start; later failures arrive as the terminal event. `Queued` and
        `Loading` events within the grace are kept for the relay and waited past, so a
        queue that refuses quickly (a short deadline) is a 503 too."""
        events = self._events = self._run()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while True:
            first = self._first = asyncio.ensure_future(events.__anext__())
            try:
                await asyncio.wait({first}, timeout=max(deadline - loop.time(), 0.0))
            except asyncio.CancelledError:
                await self.aclose()
                raise
            if not first.done() or first.cancelled() or first.exception() is not None:
                return  # still waiting (or nothing to report early): the relay takes it on
            event = first.result()
            if isinstance(event, Failed):
                await self.aclose()
                raise event.error
            if not isinstance(event, Queued | Loading):
                return
            self._first = None
            self._early.append(event)

    async def _relay(self) -> AsyncIterator[Event]:
        events = self._events or self._run()
        self._events = events
        first, self._first = self._first, None
        early, self._early = self._early, []
        try:
            for event in early:
                yield event
            if first is not None:
                try:
                    yield await first
                except StopAsyncIteration:  # pragma: no cover - a Done always comes
                    return
            async for event in events:
                yield event
        finally:
            await _abandon(first, events)

    async def aclose(self) -> None:
        """Stop the generation (closing the upstream) if it has not ended yet."""
        first, self._first = self._first, None
        events = self._events
        if events is None:  # never started: nothing was sent upstream
            self._settled = True
            slot, self._slot = self._slot, None
            await self._slots.release(slot)
            if self.admitted is not None:
                await self.admitted.release()
            if self.quota is not None:
                await self.quota.refund()  # nothing was asked of the upstream
            return
        await _abandon(first, events)

    async def _admit(self) -> AsyncGenerator[Queued | Loading, None]:
        """The model load (exclusive policy) and the wait for a GPU slot, reported."""
        if self.prepare is not None:
            async with contextlib.aclosing(self.prepare()) as loads:  # its lock, when closed
                async for loading in loads:
                    yield loading
        admitted = self.admitted
        if admitted is not None:
            async with contextlib.aclosing(admitted.wait()) as positions:
                async for position in positions:
                    yield Queued(position, admitted.estimate(position))

    def served_by(self) -> dict[str, Any] | None:
        """Where the generation ran (the `done` event's `served_by`): admission's lane, on
        the pool member that actually answered; or the fallback that answered."""
        admitted = self.admitted
        lane = admitted.lane if admitted is not None else None
        if lane is None and not self.fallback_from:
            return None
        waited = admitted.waited if admitted is not None else None
        served: dict[str, Any] = {
            "provider": self.target.record.name,
            "model": self.model,
            "server": self.server or (lane.server if lane else self.target.record.base_url),
            "instance": lane.instance if lane else self.model,
            "queued_ms": None if waited is None else round(waited * 1000, 1),
        }
        if self.fallback_from:
            served["fallback_from"] = list(self.fallback_from)
        return served

    def _answered_on(self, url: str) -> None:
        self.server = url
        if self.admitted is not None:
            self.admitted.answered_on(url)

    async def _run(self) -> AsyncGenerator[Event, None]:
        stats, ticket = self.stats, self._ticket
        status = CANCELLED
        if ticket is not None:
            ticket.recorder.stream_opened()
        failure: GatewayError | None = None
        trace, admit_started = self.trace, 0
        if trace is not None:
            trace.begin()
            admit_started = time.time_ns()
        try:
            try:
                # Closed with the generation: a client that leaves while queued leaves the queue.
                async with contextlib.aclosing(self._admit()) as waits:
                    async for waiting in waits:
                        yield waiting
            except GatewayError as exc:
                failure = exc
                if trace is not None:
                    trace.admitted(admit_started, self.admitted, exc)
            else:
                lane = self.admitted.lane if self.admitted is not None else None
                if self.admitted is not None or self.prepare is not None:
                    # Timings measure the upstream; the wait for a slot or a load is `queued_ms`.
                    stats.started = time.perf_counter()
                    if trace is not None:
                        trace.admitted(admit_started, self.admitted, None)
                if ticket is not None and self.gpu_meter is not None:
                    # Slot time runs from the upstream call until `_settle` has closed it.
                    ticket.gpu = self.gpu_meter.start(gpu_lane(self.target, self.model, lane))
                self._chunks = self._open(lane, self._answered_on)
                if trace is not None:  # the upstream request is sent inside the generation's span
                    self._chunks = trace.upstream(self._chunks)
                answered = False
                events = typed_events(self._chunks, stats, self.target.record.name)
                async with contextlib.aclosing(events) as typed:
                    async for event in typed:
                        if isinstance(event, Chunk):
                            answered = True
                            yield event
                            continue
                        if isinstance(event, Failed) and not answered and self.fallback:
                            failure = event.error  # nothing sent yet: a fallback may answer
                            break
                        if isinstance(event, Done):
                            served_by = self.served_by()
                            if served_by is not None:
                                event.extra["served_by"] = served_by
                            if self.response_format is not None:
                                event.extra.update(
                                    check_answer(stats.text, self.response_format) or {}
                                )
                        status = "ok" if isinstance(event, Done) else status_of(event.error)
                        # Settle before the terminal event is handed out: a consumer may stop
                        # there.
                        await self._settle(status)
                        yield event
                        return
            if failure is None:  # pragma: no cover - typed_events always ends with one
                return
            status = status_of(failure)
            following: Generation | None = None
            if self.fallback is not None:
                try:
                    following = await self.fallback(self, failure)
                except GatewayError as exc:  # the last fallback refused at once
                    failure, status = exc, status_of(exc)
            if following is None:
                await self._settle(status)
                yield Failed(failure)
                return
            following._slot, self._slot = self._slot, None  # the caller's stream slot
            # The caller may hold the stats (a chat stream stores the answer from them); none
            # were observed here, so the fallback measures into the same object.
            following.stats = self.stats
            if self.quota is not None:  # the request counts once, against the fallback's pass
                quota, self.quota = self.quota, None
                await quota.refund()
            await self._settle(status)
            async with contextlib.aclosing(following._run()) as handed:
                async for later in handed:
                    yield later
        finally:
            await self._settle(status)

    async def _settle(self, status: str) -> None:
        """Close the upstream, record the usage and give the slot back (once).

        The accounting runs as a task of its own once the upstream is closed, or once closing
        it was cut short: a second cancellation (a stop asks again when one seems swallowed)
        must not keep a GPU slot, a stream slot or the usage record from being given back."""
        if self._settled:
            return
        self._settled = True
        try:
            if self._chunks is not None:
                await close_iterator(self._chunks)
        finally:
            self._accounting = asyncio.ensure_future(self._account(status))  # held: not GC'd
            await asyncio.shield(self._accounting)

    async def _account(self, status: str) -> None:
        if self.admitted is not None:
            await self.admitted.release()
        ticket = self._ticket
        if ticket is not None:
            ticket.recorder.stream_closed()
            # However it ended: granted, timed out in the queue, or left it (None: never queued).
            ticket.queue_ms = queue_ms(self.admitted)
            finish_stream(ticket, self.stats, status)
        slot, self._slot = self._slot, None
        await self._slots.release(slot)
        if self.quota is not None:
            await self.quota.charge(ticket.event if ticket is not None else None)
        if self.trace is not None:
            relayed = self._chunks is not None
            self.trace.stream_ended(status, self.stats, time.perf_counter(), relayed=relayed)


async def typed_events(
    chunks: AsyncIterator[StreamChunk], stats: StreamStats, where: str = "the provider"
) -> AsyncGenerator[Chunk | Done | Failed, None]:
    """Upstream chunks → a `Chunk` each (measured by `stats`), then exactly one `Done` or
    `Failed`; only cancellation propagates."""
    try:
        async for upstream in chunks:
            parts, repaired = stats.observe(upstream.data)
            usage = upstream.data.get("usage")
            yield Chunk(
                upstream.raw,
                upstream.data,
                parts,
                usage if isinstance(usage, dict) and usage else None,
                repaired,
            )
        tail = stats.flush()
        if tail:  # held back for a `<think>` tag that never came: no upstream bytes of its own
            yield Chunk(None, {}, tail, None, True)
    except GatewayError as exc:
        yield Failed(exc)
        return
    except Exception:
        log.exception("generation on %s failed", where)
        yield Failed(GatewayError("internal error while generating"))
        return
    done = stats.done_payload()
    yield Done(
        done["finish_reason"],
        done["usage"],
        done["usage_estimated"],
        done["stats"],
        done["model"],
        reasoning_tokens=done["reasoning_tokens"],
        tool_calls=stats.tool_calls,
        stop_sequence=stats.stop_sequence,
    )


async def _abandon(first: asyncio.Future[Event] | None, events: AsyncIterator[Event]) -> None:
    if first is not None and not first.done():
        first.cancel()
        with contextlib.suppress(BaseException):
            await first
    await close_iterator(events)


def metric_labels(
    record: ProviderRecord, model: str, listed: Callable[[ProviderRecord, str], bool]
) -> tuple[str, str]:
    """The /metrics labels of a generation: a global provider's name (a user's own provider is
    "user") and a model the provider listed (a made-up name is "other"), so that no request can
    add a permanent series."""
    return (
        record.name if record.owner_id is None else "user",
        model if listed(record, model) else "other",
    )
