"""Logging: the request-id context variable, a JSON formatter, and one `configure_logging`.

`request_id_var` is set by the access-log middleware for the duration of a request (and is
copied into tasks started from it, such as background chat streams); log records and the
provider clients (`X-Request-ID` upstream) read it. `configure_logging` is called by the CLI
and by the lifespan when `BIGSHOT_LOG_FORMAT` is set; with it unset the host's logging
(pytest, an embedding application) is left alone.
"""

from __future__ import annotations

import atexit
import copy
import logging
import logging.handlers
import math
import queue
import re
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

LogFormat = Literal["json", "text"]

request_id_var: ContextVar[str | None] = ContextVar("bigshot_request_id", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName", "color_message"}
)
_MARK = "_bigshot_handler"
# Credentials that can travel in a query string (a chat stream's `token`, keys pasted into
# URLs): whatever logs a URL, the value never reaches the log.
_SECRET_QUERY = re.compile(r"([?&](?:token|key|api_key|access_token)=)[^&\s\"']+", re.IGNORECASE)


def redact_query_secrets(text: str) -> str:
    return _SECRET_QUERY.sub(r"\1[redacted]", text)


class SecretQueryFilter(logging.Filter):
    """Masks credentials in query strings of any record (defence in depth: our access log
    never logs query strings, and uvicorn's is kept off)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "=" in message:  # no query string without one
            message = redact_query_secrets(message)
        # Rendered once, here: the queue handler and the formatter reuse it.
        record.msg, record.args = message, None
        return True


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request id (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, the `extra` fields."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._second_text = ""

    def timestamp(self, created: float) -> str:
        """`datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")`, with
        the date and time of day formatted once per second (most of that call's cost)."""
        if created < 0:
            return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        fraction, whole = math.modf(created)
        micros = round(fraction * 1e6)  # as `fromtimestamp` rounds: half to even
        if micros >= 1_000_000:
            micros -= 1_000_000
            whole += 1
        second = int(whole)
        if second != self._second:
            self._second_text = datetime.fromtimestamp(second, UTC).isoformat()[:19]
            self._second = second
        return f"{self._second_text}.{micros // 1000:03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_"):
                entry[name] = value
        if record.exc_text:
            entry["exc"] = record.exc_text
        elif record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


class _QueueHandler(logging.handlers.QueueHandler):
    """Hands records to the writer thread: the request's task only builds the record.

    Formatting and the write to stderr happen in a `QueueListener` thread, off the event
    loop. The message and any traceback are rendered here, where the record was made.
    """

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if record.args is None and not record.exc_info:
            return record  # already rendered (SecretQueryFilter): nothing to change
        record = copy.copy(record)
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        return record


class _BatchingListener(logging.handlers.QueueListener):
    """The writer thread: wakes for a record, lets a burst gather for `BATCH_SECONDS`, then
    formats all of it and writes it with one `write`.

    Waking once per record (the stock listener) costs a thread switch and a GIL hand-over for
    every access line; under load that was a visible share of a request's CPU. A line reaches
    stderr at most `BATCH_SECONDS` late.
    """

    BATCH_SECONDS = 0.02

    def __init__(self, records: queue.SimpleQueue[Any], writer: logging.StreamHandler[Any]):
        super().__init__(records, writer)
        self.writer = writer
        self.stop_mark = getattr(self, "_sentinel", None)  # what `stop()` enqueues

    def _monitor(self) -> None:
        while True:
            batch = [self.dequeue(True)]
            if batch[0] is not self.stop_mark:
                time.sleep(self.BATCH_SECONDS)
            while True:
                try:
                    batch.append(self.dequeue(False))
                except queue.Empty:
                    break
            if self._write(batch):
                return

    def _write(self, batch: list[Any]) -> bool:
        """Write every record of `batch`; True when the stop sentinel was among them."""
        writer, lines, stop = self.writer, [], False
        for record in batch:
            if record is self.stop_mark:
                stop = True
                continue
            try:
                lines.append(writer.format(record) + writer.terminator)
            except Exception:  # noqa: BLE001 - logging never raises into its caller
                writer.handleError(record)
        if lines:
            with writer.lock:  # type: ignore[union-attr]
                try:
                    writer.stream.write("".join(lines))
                    writer.flush()
                except Exception:  # noqa: BLE001
                    writer.handleError(next(r for r in batch if r is not self.stop_mark))
        return stop


_listener: logging.handlers.QueueListener | None = None


def _stop_listener() -> None:
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


def configure_logging(fmt: LogFormat, level: str = "INFO") -> None:
    """Route every logger (uvicorn's too) through one stderr writer in `fmt`. Idempotent."""
    global _listener
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
    _stop_listener()
    writer = logging.StreamHandler(sys.stderr)
    writer.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handler = _QueueHandler(records)
    setattr(handler, _MARK, True)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(SecretQueryFilter())
    root.addHandler(handler)
    root.setLevel(level)
    _listener = _BatchingListener(records, writer)
    _listener.start()
    atexit.register(_stop_listener)
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # uvicorn's access log would print every URL with its query string, a chat stream's
    # `?token=` included; ours (api/middleware/access_log.py) logs the route template only.
    # uvicorn logs access lines whenever the logger has a handler, its parents' included, so
    # it gets none and does not propagate.
    # httpx logs every upstream call at INFO ("HTTP Request: POST <url>"): a second record per
    # request beside the access line, with the upstream's URL; its warnings still show.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
