"""Out-of-process control endpoints: ``GET /_sim/state``, ``POST /_sim/config``, ``/_sim/reset``.

``POST /_sim/config`` accepts any of ``tokens``, ``token_delay``, ``jit_loading``,
``jit_load_delay``, ``require_api_key``, ``seed``, ``reasoning_tokens``,
``structured_output_broken``, ``native_apis``, ``parallel``, ``auto_evict``, ``load_delay``,
``paused``, ``loaded`` (list of model keys, replaces the
loaded set) and ``fault`` (name or null) with ``fault_after``/``after``,
``fault_delay``/``delay``, ``fail_count``/``count`` and ``fault_on``/``on``. It answers with
the new state.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bigshot_llm.sim.common import JSON, get_state, openai_error, read_json
from bigshot_llm.sim.state import DEFAULT_CONTEXT_LENGTH, FAULTS, SimState

_SETTINGS: dict[str, tuple[type, ...]] = {
    "tokens": (int,),
    "token_delay": (int, float),
    "jit_loading": (bool,),
    "jit_load_delay": (int, float),
    "require_api_key": (str, type(None)),
    "seed": (str,),
    "reasoning_tokens": (int,),
    "structured_output_broken": (bool,),
    "native_apis": (bool,),
    "parallel": (int,),
    "auto_evict": (bool,),
    "load_delay": (int, float),
    "paused": (bool,),
    "download_size_bytes": (int,),
    "download_bytes_per_second": (int, float),
}
_FAULT_KEYS: dict[str, str] = {
    "fault_after": "after",
    "after": "after",
    "fault_delay": "delay",
    "delay": "delay",
    "fail_count": "count",
    "count": "count",
    "fault_on": "on",
    "on": "on",
}


def apply_config(state: SimState, config: dict[str, Any]) -> None:
    """Validate and apply a control-endpoint config dict. Raises ``ValueError``."""
    unknown = set(config) - set(_SETTINGS) - set(_FAULT_KEYS) - {"fault", "loaded"}
    if unknown:
        raise ValueError(f"unknown config keys: {sorted(unknown)}")
    for name, types in _SETTINGS.items():
        if name in config:
            value = config[name]
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                raise ValueError(f"bad value for {name!r}: {value!r}")
    loaded = config.get("loaded")
    if loaded is not None:
        if not isinstance(loaded, list) or any(state.get_model(k) is None for k in loaded):
            raise ValueError(f"'loaded' must list known model keys: {loaded!r}")
    fault_args: dict[str, Any] = {}
    for key, arg in _FAULT_KEYS.items():
        if key in config and config[key] is not None:
            fault_args[arg] = config[key]
    if "fault" in config and config["fault"] is not None and config["fault"] not in FAULTS:
        raise ValueError(f"unknown fault {config['fault']!r}; expected one of {sorted(FAULTS)}")

    for name in _SETTINGS:
        if name in config:
            setattr(state, name, config[name])
    if loaded is not None:
        new_loaded: dict[str, int] = {}
        for key in loaded:
            spec = state.get_model(key)
            assert spec is not None
            new_loaded[key] = min(DEFAULT_CONTEXT_LENGTH, spec.max_context_length)
        state.loaded = new_loaded
    if "fault" in config:
        state.set_fault(config["fault"], **fault_args)


async def sim_state(request: Request) -> Response:
    """``GET /_sim/state``: settings, fault, loaded models and counters."""
    return JSON(get_state(request).snapshot())


async def sim_config(request: Request) -> Response:
    """``POST /_sim/config``."""
    state = get_state(request)
    body = await read_json(request)
    if isinstance(body, Response):
        return body
    try:
        apply_config(state, body)
    except (ValueError, TypeError) as exc:
        return openai_error(400, str(exc))
    return JSON(state.snapshot())


async def sim_reset(request: Request) -> Response:
    """``POST /_sim/reset``: back to the constructor's settings, counters zeroed."""
    state = get_state(request)
    state.reset()
    return JSON(state.snapshot())
