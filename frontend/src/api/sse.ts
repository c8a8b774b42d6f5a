/**
 * The one SSE client of the UI, for the chat stream and the comparison alike.
 *
 * It reads `text/event-stream` with `fetch` rather than `EventSource`, so every request carries
 * the API key as a header (no token in a URL), POST bodies work (compare) and a reconnect sends
 * `Last-Event-ID` itself. `SseParser` follows the WHATWG rules (LF, CR or CRLF line ends,
 * multi-line data, comments, a chunk boundary anywhere); `readSse` reads one response;
 * `followSse` keeps a resumable stream (the chat's) going across network blips.
 */
import { ApiError } from "./client";
import type { ErrorBody } from "./types";

export interface SseEvent {
  /** The event's `id` ("" when it had none). */
  id: string;
  event: string;
  data: string;
}

export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private event = "";
  /** The last `id` seen (kept across events, as the spec's "last event ID buffer"). */
  lastEventId = "";
  private pendingCR = false;

  /** Feed decoded text; returns the events completed by it. */
  feed(text: string): SseEvent[] {
    const out: SseEvent[] = [];
    let chunk = text;
    // A CR at the end of the previous chunk may be the first half of a CRLF.
    if (this.pendingCR && chunk.startsWith("\n")) chunk = chunk.slice(1);
    this.pendingCR = false;
    this.buffer += chunk;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer[i];
      if (ch !== "\n" && ch !== "\r") continue;
      const line = this.buffer.slice(start, i);
      if (ch === "\r") {
        if (i + 1 < this.buffer.length) {
          if (this.buffer[i + 1] === "\n") i++;
        } else {
          this.pendingCR = true;
        }
      }
      start = i + 1;
      const event = this.line(line);
      if (event) out.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string): SseEvent | null {
    if (line === "") {
      if (!this.data.length) {
        this.event = "";
        return null;
      }
      const event = { id: this.lastEventId, event: this.event || "message", data: this.data.join("\n") };
      this.data = [];
      this.event = "";
      return event;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
    return null;
  }
}

async function failure(response: Response): Promise<ApiError> {
  let body: ErrorBody = { code: `http_${response.status}`, message: response.statusText || "request failed" };
  try {
    const payload = (await response.json()) as { error?: ErrorBody };
    if (payload?.error?.code) body = payload.error;
  } catch {
    // not JSON
  }
  return new ApiError(response.status, body);
}

/**
 * Read one SSE response to its end, calling `onEvent` per event; `onEvent` returning true
 * ends the read early (a final event). Resolves with the parser (for its `lastEventId`).
 */
export async function readSse(
  response: Response,
  onEvent: (event: SseEvent) => boolean | void,
  parser: SseParser = new SseParser(),
): Promise<{ finished: boolean; parser: SseParser }> {
  if (!response.ok) throw await failure(response);
  if (!response.body) return { finished: false, parser };
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { finished: false, parser };
      for (const event of parser.feed(value)) {
        if (onEvent(event) === true) return { finished: true, parser };
      }
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

export interface SseRequest {
  url: string;
  apiKey: string;
  method?: "GET" | "POST";
  body?: unknown;
  signal?: AbortSignal;
}

export function sseFetch({ url, apiKey, method = "GET", body, signal }: SseRequest, lastEventId = ""): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${apiKey}`, Accept: "text/event-stream" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (lastEventId) headers["Last-Event-ID"] = lastEventId;
  return fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
}

export interface FollowOptions extends SseRequest {
  /** Resume after this event id (e.g. "0" replays everything the server kept). */
  lastEventId?: string;
  /** Return true for the stream's final event (nothing is read after it). */
  onEvent: (event: SseEvent) => boolean | void;
  /** Called when the connection broke and a new attempt is about to start. */
  onReconnecting?: (attempt: number) => void;
  /** Called once a (re)connection answered. */
  onOpen?: () => void;
  /** Delays between attempts; the follow gives up after the last. */
  retryDelaysMs?: number[];
}

export type FollowEnd = "finished" | "over" | "aborted";

const RETRY_DELAYS = [250, 500, 1000, 2000, 3000, 4000, 5000, 5000, 5000, 5000];

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function aborted(err: unknown, signal?: AbortSignal): boolean {
  return !!signal?.aborted || (err instanceof DOMException && err.name === "AbortError");
}

/**
 * Follow a resumable stream: read it, and when the connection breaks before the final event
 * connect again with `Last-Event-ID` (the server replays what was missed). Ends with
 * "finished" (final event seen), "over" (204: nothing follows the id) or "aborted"; throws the
 * server's ApiError for a 4xx (e.g. 404: the stream expired) or when every retry failed.
 */
export async function followSse(options: FollowOptions): Promise<FollowEnd> {
  const parser = new SseParser();
  parser.lastEventId = options.lastEventId ?? "";
  const delays = options.retryDelaysMs ?? RETRY_DELAYS;
  let attempt = 0;
  for (;;) {
    let lastError: unknown;
    let received = 0;
    try {
      const response = await sseFetch(options, parser.lastEventId);
      if (response.status === 204) return "over";
      if (!response.ok) {
        const error = await failure(response);
        if (response.status < 500) throw error;
        lastError = error;
      } else {
        options.onOpen?.();
        const { finished } = await readSse(
          response,
          (event) => {
            received++;
            return options.onEvent(event);
          },
          parser,
        );
        if (finished) return "finished";
        lastError = new ApiError(0, { code: "stream_lost", message: "the stream ended early" });
      }
    } catch (err) {
      if (aborted(err, options.signal)) return "aborted";
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) throw err;
      lastError = err;
    }
    if (received) attempt = 0; // it made progress: a fresh series of retries
    if (options.signal?.aborted) return "aborted";
    if (attempt >= delays.length) {
      if (lastError instanceof ApiError) throw lastError;
      throw new ApiError(0, {
        code: "stream_lost",
        message: "The connection to the stream was lost and could not be resumed.",
      });
    }
    options.onReconnecting?.(attempt + 1);
    await sleep(delays[attempt], options.signal);
    attempt++;
    if (options.signal?.aborted) return "aborted";
  }
}

/** Parse an event's JSON data; null for anything else. */
export function eventData<T>(event: SseEvent): T | null {
  try {
    return JSON.parse(event.data) as T;
  } catch {
    return null;
  }
}
