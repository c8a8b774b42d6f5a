/** Test doubles: a routed fake `fetch` for the gateway and a hand-fed SSE body. */
import { vi } from "vitest";
import type { ModelInfo, ProviderPublic } from "../api/types";

export interface Call {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
  signal: AbortSignal | null;
}

type Answer = { status?: number; data?: unknown; error?: { code: string; message: string } };
type Handler = (call: Call) => Answer | Response;

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
      signal: init?.signal ?? null,
    };
    calls.push(call);
    const handler = routes[`${method} ${url.pathname}`];
    if (!handler) {
      return new Response(
        JSON.stringify({ success: false, error: { code: "not_found", message: "no such endpoint" } }),
        { status: 404 },
      );
    }
    const answer = handler(call);
    if (answer instanceof Response) return answer;
    const { status = 200, data, error } = answer;
    const payload = error ? { success: false, error } : { success: true, data };
    return new Response(JSON.stringify(payload), {
      status,
      headers: { "Content-Type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}

/** A `text/event-stream` body the test writes to by hand (and can cut, like a network blip). */
export class FakeSse {
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private encoder = new TextEncoder();
  readonly response: Response;

  constructor(status = 200) {
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
    });
    this.response = new Response(body, { status, headers: { "Content-Type": "text/event-stream" } });
  }

  emit(event: string, data: unknown, id?: number) {
    const lines = `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    this.controller.enqueue(this.encoder.encode(lines));
  }

  /** The connection breaks (the reader sees a network error). */
  cut() {
    this.controller.error(new TypeError("network error"));
  }

  close() {
    this.controller.close();
  }
}

/** Let the fake stream's chunks reach the reader (a few macrotask turns). */
export async function flush(times = 5) {
  for (let i = 0; i < times; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

export const MODELS: ModelInfo[] = [
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

/** A provider config as `/llm-providers` lists it: an enabled global LM Studio. */
export function providerRecord(id: string, name: string, fields: Partial<ProviderPublic> = {}): ProviderPublic {
  return {
    id,
    name,
    provider: "lmstudio",
    kind: "lmstudio",
    base_url: `http://${id}.test:1234/v1`,
    api_key: null,
    has_api_key: false,
    default_model: null,
    owner_id: null,
    scope: "global",
    connect_timeout: 5,
    list_timeout: 5,
    read_timeout: 600,
    stream_idle_timeout: 300,
    max_connections: 1000,
    max_keepalive_connections: 20,
    enabled: true,
    created_at: "2026-12-01T00:00:00Z",
    updated_at: "2026-12-01T00:00:00Z",
    ...fields,
  };
}

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
