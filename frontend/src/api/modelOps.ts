/**
 * Model operations: load/unload a model, provider kinds, and side-by-side comparisons
 * (`POST /api/v1/compare` streams SSE over a POST, so it is read with fetch, not EventSource).
 */
import type { ApiClient } from "./client";
import { ApiError } from "./client";
import type { StreamStats, Usage } from "../types/api";

export interface ModelOpAnswer {
  model: string;
  provider: { id: string; name: string };
  state: "loaded" | "not-loaded";
  instance_ids: string[];
  unloaded: string[];
  load_time_seconds: number | null;
}

export interface ProviderKind {
  kind: string;
  description: string;
  builtin: boolean;
  supports_load: boolean;
}

function modelPath(model: string, action: "load" | "unload", providerId: string | null): string {
  // Model ids may contain "/": each segment is encoded, the slashes stay (a path route).
  const encoded = model.split("/").map(encodeURIComponent).join("/");
  const query = providerId ? `?provider=${encodeURIComponent(providerId)}` : "";
  return `/api/v1/llm-providers/models/${encoded}/${action}${query}`;
}

export function loadModel(
  client: ApiClient,
  model: string,
  providerId: string | null,
  contextLength?: number,
): Promise<ModelOpAnswer> {
  const body = contextLength ? { context_length: contextLength } : undefined;
  return client.post<ModelOpAnswer>(modelPath(model, "load", providerId), body);
}

export function unloadModel(client: ApiClient, model: string, providerId: string | null) {
  return client.post<ModelOpAnswer>(modelPath(model, "unload", providerId));
}

export function listKinds(client: ApiClient): Promise<ProviderKind[]> {
  return client.get<ProviderKind[]>("/api/v1/llm-providers/kinds");
}

// ---- comparison ------------------------------------------------------------------------------

export interface CompareTarget {
  provider: string;
  model: string;
}

export interface CompareParams {
  max_tokens?: number;
  temperature?: number;
}

export interface CompareDone {
  target: number;
  finish_reason: string | null;
  usage: Usage | null;
  usage_estimated: boolean;
  stats: StreamStats | null;
  model: string | null;
}

export type CompareEvent =
  | { event: "start"; data: { id: string } }
  | { event: "delta"; data: { target: number; text: string } }
  | { event: "done"; data: CompareDone }
  | { event: "error"; data: { target: number; code: string; message: string } }
  | { event: "end"; data: { id: string; status: string } };

/** Split an SSE byte stream into events (LF or CRLF line endings, comments skipped). */
export function parseSse(buffer: string): { events: { event: string; data: string }[]; rest: string } {
  const events: { event: string; data: string }[] = [];
  const normalised = buffer.replace(/\r\n?/g, "\n");
  const blocks = normalised.split("\n\n");
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length) events.push({ event, data: data.join("\n") });
  }
  return { events, rest };
}

/** Run a comparison, calling `onEvent` for each event; resolves when the stream ends. */
export async function runComparison(
  apiKey: string,
  body: { prompt: string; params: CompareParams; targets: CompareTarget[] },
  onEvent: (event: CompareEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const response = await fetch("/api/v1/compare", {
    method: "POST",
    headers: {
      Authorization: `Bearer ${apiKey}`,
      "Content-Type": "application/json",
      Accept: "text/event-stream",
    },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok || !response.body) {
    let error = { code: `http_${response.status}`, message: response.statusText || "failed" };
    try {
      const payload = await response.json();
      if (payload?.error) error = payload.error;
    } catch {
      /* not JSON */
    }
    throw new ApiError(response.status, error);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const parsed = parseSse(buffer + value);
    buffer = parsed.rest;
    for (const item of parsed.events) {
      onEvent({ event: item.event, data: JSON.parse(item.data) } as CompareEvent);
    }
  }
}
