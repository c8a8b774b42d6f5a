/** Test doubles: a routed fake `fetch` for the gateway and a controllable EventSource. */
import { vi } from "vitest";

export interface Call {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
}

type Handler = (call: Call) => { status?: number; data?: unknown; error?: { code: string; message: string } };

/** `routes`: "GET /api/v1/me" → handler (the query string is ignored for matching). */
export function mockFetch(routes: Record<string, Handler>) {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), "http://ui.test");
    const method = (init?.method ?? "GET").toUpperCase();
    const call: Call = {
      method,
      path: `${url.pathname}${url.search}`,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
      headers: (init?.headers ?? {}) as Record<string, string>,
    };
    calls.push(call);
    const handler = routes[`${method} ${url.pathname}`];
    if (!handler) {
      return new Response(
        JSON.stringify({ success: false, error: { code: "not_found", message: "no such endpoint" } }),
        { status: 404 },
      );
    }
    const { status = 200, data, error } = handler(call);
    const payload = error ? { success: false, error } : { success: true, data };
    return new Response(JSON.stringify(payload), {
      status,
      headers: { "Content-Type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}

/** An EventSource whose events the test emits by hand. */
export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  readonly url: string;
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  closed = false;
  private listeners = new Map<string, ((event: Event) => void)[]>();

  constructor(url: string) {
    this.url = url;
    FakeEventSource.instances.push(this);
  }

  static latest(): FakeEventSource {
    const last = FakeEventSource.instances[FakeEventSource.instances.length - 1];
    if (!last) throw new Error("no EventSource was opened");
    return last;
  }

  addEventListener(type: string, listener: (event: Event) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close() {
    this.closed = true;
    this.readyState = 2;
  }

  open() {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }

  emit(type: string, data: unknown, id?: number) {
    const event = new MessageEvent(type, {
      data: JSON.stringify(data),
      lastEventId: id === undefined ? "" : String(id),
    });
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }

  /** The browser's own connection error; `readyState` 0 = reconnecting, 2 = gave up. */
  fail(readyState: 0 | 2) {
    this.readyState = readyState;
    for (const listener of this.listeners.get("error") ?? []) listener(new Event("error"));
  }
}

export const MODELS = [
  {
    id: "text-embedding-nomic",
    type: "embeddings",
    arch: "nomic-bert",
    state: "loaded",
    max_context_length: 2048,
    quantization: "F16",
    publisher: "nomic-ai",
  },
  {
    id: "llama-3.2-1b-instruct",
    type: "llm",
    arch: "llama",
    state: "not-loaded",
    max_context_length: 131072,
    quantization: "Q8_0",
    publisher: "lmstudio-community",
  },
  {
    id: "qwen2.5-7b-instruct",
    type: "llm",
    arch: "qwen2",
    state: "loaded",
    max_context_length: 32768,
    quantization: "Q4_K_M",
    publisher: "lmstudio-community",
  },
  {
    id: "gemma-3-4b-it",
    type: "vlm",
    arch: "gemma3",
    state: "not-loaded",
    max_context_length: 131072,
    quantization: "Q4_K_M",
    publisher: "lmstudio-community",
  },
];

export const PROVIDER = { id: "p1", name: "LMStudio Local", provider: "lmstudio", base_url: "http://127.0.0.1:1234/v1" };

export function modelList(models = MODELS, provider = PROVIDER) {
  return {
    models,
    provider,
    cached: false,
    stale: false,
    fetched_at: "2025-01-01T00:00:00Z",
    error: null,
  };
}
