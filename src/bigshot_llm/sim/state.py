"""Mutable, thread-safe-enough state of the LM Studio simulator.

The simulator's HTTP handlers run in a background thread (see :mod:`bigshot_llm.sim.server`)
while tests read and tweak the same :class:`SimState` object directly from their own thread,
so counters are updated under a lock and reads are plain attribute reads.
"""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable
from typing import Any

from bigshot_llm.sim.catalogue import (
    DEFAULT_CONTEXT_LENGTH,
    DEFAULT_LOADED,
    ModelSpec,
    ModelType,
    default_models,
)
from bigshot_llm.sim.faults import (
    DEFAULT_FAULT_AFTER,
    DEFAULT_SLOW_HEADERS_DELAY,
    FAULT_TARGETS,
    FAULTS,
    FaultSpec,
)

__all__ = [
    "DEFAULT_CONTEXT_LENGTH",
    "DEFAULT_FAULT_AFTER",
    "DEFAULT_LOADED",
    "DEFAULT_SLOW_HEADERS_DELAY",
    "FAULTS",
    "FaultListener",
    "FaultSpec",
    "ModelSpec",
    "ModelType",
    "SimState",
    "default_models",
]

FaultListener = Callable[[str | None, str | None, FaultSpec | None], None]
"""Called as ``listener(new_fault, previous_fault, spec)`` after every :meth:`set_fault`."""


COUNTERS: tuple[str, ...] = (
    "requests_total",
    "active_requests",
    "aborted_requests",
    "streams_open",
    "streams_completed",
    "streams_aborted",
    "streams_faulted",
    "loads_total",
    "unloads_total",
    "generating",
    "peak_generating",
    "queued_internally",
    "peak_queued_internally",
)
"""Integer counters of :class:`SimState` (plus the ``requests_by_path`` dict)."""


class SimState:
    """Settings, model catalogue, fault and counters of one simulator.

    Settings (plain attributes, change them any time):
      ``tokens`` words per answer, ``token_delay`` seconds between tokens, ``jit_loading``,
      ``jit_load_delay`` seconds a JIT load takes, ``require_api_key`` (``None`` = auth off),
      ``seed`` mixed into generated text, ``reasoning_tokens`` pieces of reasoning a reasoning
      model thinks, ``structured_output_broken`` (json_schema answers are cut in half, invalid
      JSON), ``native_apis`` (serve the Anthropic Messages and OpenAI Responses APIs, off by
      default), ``models`` (the catalogue), ``loaded``
      (``{model_key: context_length}``; the instance id of a loaded model is its key),
      ``parallel`` slots per loaded instance (LM Studio's parallel predictions, 4 by default;
      ``parallel_by_key`` overrides it per model), ``duplicates`` (``{model_key: n}``: n more
      instances ``key:2`` … ``key:n+1``), ``auto_evict`` (loading an LLM unloads the other
      LLMs, the simulator's default; off, like LM Studio's API loads, models pile up),
      ``load_delay`` seconds an API load takes (``/api/v1/models/load``, or ``/api/v1/chat``
      reporting ``load_progress_steps`` progress events on the way), ``paused`` (admitted
      generations wait before their first token until it is cleared).

    Slots (see :mod:`bigshot_llm.sim.slots`): a generation holds a slot of its instance while it
    runs; beyond ``parallel`` it queues inside the simulator, as LM Studio does.
    ``generating``/``peak_generating`` count generations holding a slot (now / at most),
    ``queued_internally``/``peak_queued_internally`` those waiting inside, ``busy``
    (``{instance_id: n}``), ``peak_busy`` the most each instance ran at once, ``served`` the
    ``X-Sim-Tag`` header (else the prompt: the last user message) of each generation in the
    order it got its slot, ``arrived`` in the order it asked for one, ``served_instances`` the
    instance each of them ran on.

    Counters (read them, don't write): ``requests_total``, ``requests_by_path``,
    ``active_requests``, ``aborted_requests``, ``streams_open``, ``streams_completed``,
    ``streams_aborted``, ``streams_faulted``, ``loads_total``, ``unloads_total``,
    ``last_request_body``, ``last_request_headers``, ``last_request_path``.
    Requests to ``/_sim/*`` control endpoints are not counted.
    """

    def __init__(
        self,
        *,
        tokens: int = 20,
        token_delay: float = 0.0,
        jit_loading: bool = True,
        jit_load_delay: float = 0.0,
        require_api_key: str | None = None,
        seed: str = "",
        models: Iterable[ModelSpec] | None = None,
        loaded: Iterable[str] | None = None,
        parallel: int = 4,
    ) -> None:
        self._lock = threading.RLock()
        self._listeners: list[FaultListener] = []
        self._init_kwargs: dict[str, Any] = {
            "tokens": tokens,
            "token_delay": token_delay,
            "jit_loading": jit_loading,
            "jit_load_delay": jit_load_delay,
            "require_api_key": require_api_key,
            "seed": seed,
            "models": list(models) if models is not None else None,
            "loaded": list(loaded) if loaded is not None else None,
            "parallel": parallel,
        }
        self._apply_defaults(**self._init_kwargs)

    # ------------------------------------------------------------------ setup / reset
    def _apply_defaults(
        self,
        *,
        tokens: int,
        token_delay: float,
        jit_loading: bool,
        jit_load_delay: float,
        require_api_key: str | None,
        seed: str,
        models: list[ModelSpec] | None,
        loaded: list[str] | None,
        parallel: int,
    ) -> None:
        with self._lock:
            self.tokens: int = tokens
            self.token_delay: float = token_delay
            self.jit_loading: bool = jit_loading
            self.jit_load_delay: float = jit_load_delay
            self.require_api_key: str | None = require_api_key
            self.seed: str = seed
            self.reasoning_tokens: int = 8
            self.structured_output_broken: bool = False
            # Whether `/v1/messages` and `/v1/responses` exist (LM Studio ≥ 0.4.1); off, they
            # answer 404 as llama.cpp's server does, and only chat completions remain.
            self.native_apis: bool = False
            self.stored_responses: dict[str, list[dict[str, Any]]] = {}  # id → chat history
            self.models: list[ModelSpec] = list(models) if models is not None else default_models()
            keys = {m.key for m in self.models}
            wanted = list(loaded) if loaded is not None else list(DEFAULT_LOADED)
            self.loaded: dict[str, int] = {}
            for key in wanted:
                if key in keys:
                    spec = self.get_model(key)
                    assert spec is not None
                    self.loaded[key] = min(DEFAULT_CONTEXT_LENGTH, spec.max_context_length)
            self.fault: str | None = None
            self.fault_after: int = DEFAULT_FAULT_AFTER
            self.fault_delay: float | None = None
            self.fault_count: int | None = None
            self.fault_on: str | None = None  # one of FAULT_TARGETS, or any request
            self.requests_total: int = 0
            self.requests_by_path: dict[str, int] = {}
            self.active_requests: int = 0
            self.aborted_requests: int = 0
            self.streams_open: int = 0
            self.streams_completed: int = 0
            self.streams_aborted: int = 0
            self.streams_faulted: int = 0
            self.loads_total: int = 0
            self.unloads_total: int = 0
            self.parallel: int = parallel
            self.parallel_by_key: dict[str, int] = {}
            self.duplicates: dict[str, int] = {}
            self.auto_evict: bool = True
            self.load_delay: float = 0.0
            self.paused: bool = False
            self.generating: int = 0
            self.peak_generating: int = 0
            self.queued_internally: int = 0
            # Per instance, the places of the requests waiting inside, in arrival order.
            self.slot_queue: dict[str, deque[object]] = {}
            self.peak_queued_internally: int = 0
            self.busy: dict[str, int] = {}
            self.peak_busy: dict[str, int] = {}
            self.served: list[str] = []
            self.arrived: list[str] = []  # the same tags, in the order they asked for a slot
            self.served_instances: list[str] = []
            self.load_requests: list[dict[str, Any]] = []
            self.chat_loads: list[dict[str, Any]] = []  # loads through /api/v1/chat
            self.load_progress_steps: int = 4  # model_load.progress events of such a load
            self.unloaded_while_busy: int = 0  # instances unloaded under a running generation
            self.load_configs: dict[str, dict[str, Any]] = {}
            self.downloads: dict[str, dict[str, Any]] = {}  # job id → job (sim.downloads)
            self.download_size_bytes: int = 4_000_000
            self.download_bytes_per_second: float = 2_000_000.0
            self.last_request_body: Any = None
            self.last_request_headers: dict[str, str] = {}
            self.last_request_path: str | None = None

    def reset(self) -> None:
        """Restore settings, catalogue, loaded models and fault to the constructor's values and
        zero every counter. A ``stopped`` fault is cleared without notifying listeners."""
        self._apply_defaults(**copy.deepcopy(self._init_kwargs))

    # ------------------------------------------------------------------ counters
    def incr(self, name: str, delta: int = 1) -> None:
        """Atomically add ``delta`` to the counter ``name``."""
        with self._lock:
            setattr(self, name, getattr(self, name) + delta)

    def record_request(self, path: str, headers: dict[str, str]) -> None:
        """Count a request (called by the middleware)."""
        with self._lock:
            self.requests_total += 1
            by_path = dict(self.requests_by_path)
            by_path[path] = by_path.get(path, 0) + 1
            self.requests_by_path = by_path  # replaced, never mutated: safe to read
            self.active_requests += 1
            self.last_request_headers = headers
            self.last_request_path = path

    def counters(self) -> dict[str, Any]:
        """A consistent copy of every counter."""
        with self._lock:
            data: dict[str, Any] = {name: getattr(self, name) for name in COUNTERS}
            data["requests_by_path"] = dict(self.requests_by_path)
        return data

    def snapshot(self) -> dict[str, Any]:
        """Settings, fault, loaded models and counters as a JSON-able dict."""
        with self._lock:
            return {
                "tokens": self.tokens,
                "token_delay": self.token_delay,
                "jit_loading": self.jit_loading,
                "jit_load_delay": self.jit_load_delay,
                "require_api_key": self.require_api_key,
                "seed": self.seed,
                "reasoning_tokens": self.reasoning_tokens,
                "structured_output_broken": self.structured_output_broken,
                "native_apis": self.native_apis,
                "fault": self.fault,
                "fault_after": self.fault_after,
                "fault_delay": self.fault_delay,
                "fault_count": self.fault_count,
                "fault_on": self.fault_on,
                "models": [m.key for m in self.models],
                "loaded": dict(self.loaded),
                "parallel": self.parallel,
                "duplicates": dict(self.duplicates),
                "auto_evict": self.auto_evict,
                "paused": self.paused,
                "served": list(self.served),
                "last_request_path": self.last_request_path,
                "last_request_body": self.last_request_body,
                "last_request_headers": dict(self.last_request_headers),
                **self.counters(),
            }

    # ------------------------------------------------------------------ waiting
    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01
    ) -> None:
        """Block until ``predicate()`` is true; raise :class:`TimeoutError` after ``timeout``.

        Don't call from a coroutine that the simulator's client needs (it blocks the loop);
        use :meth:`wait_for_async` there.
        """
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s: {self.counters()}")
            time.sleep(interval)

    async def wait_for_async(
        self, predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01
    ) -> None:
        """Async twin of :meth:`wait_for`."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s: {self.counters()}")
            await asyncio.sleep(interval)

    # ------------------------------------------------------------------ models
    def get_model(self, key: str) -> ModelSpec | None:
        """The catalogue entry named ``key`` (``None`` if unknown)."""
        for model in self.models:
            if model.key == key:
                return model
        return None

    def is_loaded(self, key: str) -> bool:
        """Whether ``key`` is currently loaded."""
        return key in self.loaded

    def loaded_llm(self) -> ModelSpec | None:
        """The loaded LLM/VLM, if any."""
        with self._lock:
            for key in self.loaded:
                spec = self.get_model(key)
                if spec is not None and spec.is_llm:
                    return spec
        return None

    def instances_of(self, key: str) -> list[str]:
        """The instance ids of a loaded model (``key``, ``key:2``, …); empty when not loaded."""
        if key not in self.loaded:
            return []
        extra = self.duplicates.get(key, 0)
        return [key, *(f"{key}:{n}" for n in range(2, extra + 2))]

    def slots_of(self, instance_id: str) -> int:
        """Parallel predictions of an instance."""
        key = instance_id if instance_id in self.loaded else instance_id.rsplit(":", 1)[0]
        return max(1, self.parallel_by_key.get(key, self.parallel))

    def resolve_instance(self, name: str) -> tuple[ModelSpec, str] | None:
        """A loaded instance id (``key:2``) → its model and the id; None for anything else."""
        for key in self.loaded:
            if name in self.instances_of(key):
                spec = self.get_model(key)
                if spec is not None:
                    return spec, name
        return None

    def loaded_keys(self) -> list[str]:
        """Loaded model keys, in load order."""
        return list(self.loaded)

    def load_model(self, key: str, context_length: int | None = None) -> str:
        """Load ``key`` and return its instance id. With ``auto_evict`` (the default) loading
        an LLM/VLM unloads any other LLM/VLM (one at a time); embeddings models are
        independent. Raises ``KeyError``."""
        with self._lock:
            spec = self.get_model(key)
            if spec is None:
                raise KeyError(key)
            loaded = dict(self.loaded)  # copy-on-write: readers in other threads stay safe
            if spec.is_llm and self.auto_evict:
                for other in list(loaded):
                    other_spec = self.get_model(other)
                    if other != key and other_spec is not None and other_spec.is_llm:
                        del loaded[other]
                        self.unloads_total += 1
            ctx = context_length or min(DEFAULT_CONTEXT_LENGTH, spec.max_context_length)
            loaded[key] = min(ctx, spec.max_context_length)
            self.loaded = loaded
            self.loads_total += 1
            return key

    def unload_model(self, instance_id: str) -> None:
        """Unload an instance. Raises ``KeyError`` when it isn't loaded."""
        with self._lock:
            if self.busy.get(instance_id, 0) > 0:
                self.unloaded_while_busy += 1
            loaded = dict(self.loaded)
            key, _, number = instance_id.partition(":")
            if number and key in loaded and instance_id in self.instances_of(key):
                self.duplicates = {**self.duplicates, key: self.duplicates.get(key, 1) - 1}
                self.unloads_total += 1
                return
            del loaded[instance_id]
            self.loaded = loaded
            self.unloads_total += 1

    # ------------------------------------------------------------------ faults
    def add_fault_listener(self, listener: FaultListener) -> None:
        """Register a callback run after each :meth:`set_fault` (used by ``SimServer``)."""
        with self._lock:
            self._listeners.append(listener)

    def remove_fault_listener(self, listener: FaultListener) -> None:
        """Undo :meth:`add_fault_listener`."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def set_fault(
        self,
        name: str | None,
        *,
        after: int | None = None,
        delay: float | None = None,
        count: int | None = None,
        on: str | None = None,
    ) -> None:
        """Activate fault ``name`` (``None`` heals).

        ``after``: chunks sent before a mid-stream fault strikes (default 3).
        ``delay``: seconds for ``slow_headers`` (default 2.0); for ``stopped``, restart the
        server automatically after that many seconds (default: stay stopped).
        ``count``: apply to the next ``count`` affected requests only, then heal.
        ``on``: only requests of one kind (``FAULT_TARGETS``) meet it, so that a one-shot
        fault for a chat request is not taken by a model listing that happens first.
        """
        if name is not None and name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; expected one of {sorted(FAULTS)}")
        if on is not None and on not in FAULT_TARGETS:
            raise ValueError(f"on must be one of {sorted(FAULT_TARGETS)}, not {on!r}")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            previous = self.fault
            self.fault = name
            self.fault_after = DEFAULT_FAULT_AFTER if after is None else after
            self.fault_delay = delay
            self.fault_count = count if name is not None else None
            self.fault_on = on if name is not None else None
            spec = self.current_fault()
            listeners = list(self._listeners)
        for listener in listeners:
            listener(name, previous, spec)

    def clear_fault_silently(self) -> None:
        """Heal without notifying listeners (used by ``SimServer.start``)."""
        with self._lock:
            self.fault = None
            self.fault_count = None

    def current_fault(self) -> FaultSpec | None:
        """The active fault without consuming it."""
        with self._lock:
            if self.fault is None:
                return None
            return FaultSpec(self.fault, self.fault_after, self.fault_delay)

    def take_fault(self, applicable: Collection[str], target: str) -> FaultSpec | None:
        """Return the active fault if it is one of ``applicable`` and aimed at requests of
        kind ``target`` (or at any), consuming one use of a counted fault (the fault heals
        itself when the count reaches zero)."""
        with self._lock:
            if self.fault is None or self.fault not in applicable:
                return None
            if self.fault_on is not None and self.fault_on != target:
                return None
            spec = FaultSpec(self.fault, self.fault_after, self.fault_delay)
            if self.fault_count is not None:
                self.fault_count -= 1
                if self.fault_count <= 0:
                    self.fault = None
                    self.fault_count = None
            return spec
