/**
 * The gateway's API shapes as the UI uses them, taken from `schema.d.ts` (generated from the
 * OpenAPI schema by `make ui`): a field the UI reads and the schema lacks fails `tsc`.
 *
 * A few answers are free-form in the schema (`dict[str, Any]` on the server: model entries,
 * message stats, the SSE event payloads, `/models/all`). Their shapes are written out at the
 * bottom, each on top of the schema type it refines (`Refine` only replaces keys the schema
 * has, so a renamed field still fails `tsc`).
 */
import type { components } from "./schema";

type S = components["schemas"];

/** `T` with the keys `K` (which must exist in `T`) replaced by `R`'s. */
type Refine<T, K extends keyof T, R extends { [P in K]?: unknown }> = Omit<T, K> & R;

export type ErrorBody = S["ErrorBody"];
export type Me = S["Me"];
export type Preferences = S["Preferences"];
export type ThemeChoice = NonNullable<Preferences["theme"]>;

export type ProviderPublic = S["ProviderPublic"];
export type ProviderCreate = S["ProviderCreate"];
export type ProviderUpdate = S["ProviderUpdate"];
export type ActiveProvider = S["ActiveProvider"];
export type ProviderTestResult = S["ProviderTestResult"];
export type Fallback = S["Fallback"];
export type ProviderKind = S["ProviderKindPublic"];
export type ModelOpAnswer = S["ModelOpAnswer"];
export type AliasPublic = S["AliasPublic"];
export type AliasWritten = S["AliasWritten"];
export type AliasCreate = S["AliasCreate"];
export type AliasUpdate = S["AliasUpdate"];
export type AliasEntry = S["AliasEntry"];

export type ConversationSettings = S["ConversationSettings"];
export type Conversation = Refine<S["ConversationPublic"], "settings", { settings: ConversationSettings }>;
export type ConversationCreate = S["ConversationCreate"];
export type ConversationUpdate = S["ConversationUpdate"];
export type StreamCreate = S["StreamCreate"];
export type StreamCreated = S["StreamCreated"];
export type StreamPublic = S["StreamPublic"];
export type ContextReport = S["ContextReport"];
export type TextPart = S["TextPart"];
export type ImagePart = S["ImagePart"];
export type ContentPart = TextPart | ImagePart;
export type Preset = S["Preset"];
export type ConversationFile = S["ConversationFile"];
export type SearchHit = Refine<S["SearchHit"], "conversation", { conversation: Conversation }>;
export type Usage = S["Usage"];
/** Where an answer ran: provider, model, server and instance, and the fallbacks that failed first. */
export type ServedBy = S["ServedBy"];

export type CompareTarget = S["CompareTarget"];
export type CompareParams = S["CompareParams"];
export type CompareRequest = S["CompareRequest"];

export type UsageReport = S["UsageReport"];
export type UsageGroup = S["UsageGroup"];
export type UsageTotals = S["UsageTotals"];
export type UsageRecord = S["UsageRecordPublic"];
export type QuotaPublic = S["QuotaPublic"];
export type QuotaCreate = S["QuotaCreate"];
export type QuotaUsage = S["QuotaUsage"];
export type UserPublic = S["UserPublic"];
export type KeyPublic = S["KeyPublic"];

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

// ---- free-form in the schema: refined here ---------------------------------------------------

/** One entry of `GET /api/v1/llm-providers/models?detailed=true` (`ModelInfo` on the server). */
export interface ModelInfo {
  id: string;
  type?: "llm" | "vlm" | "embeddings" | string | null;
  arch?: string | null;
  /** `null` when the provider does not say (OpenAI-compatible servers). */
  state?: "loaded" | "not-loaded" | string | null;
  max_context_length?: number | null;
  loaded_context_length?: number | null;
  quantization?: string | null;
  publisher?: string | null;
  /** Reads images (LM Studio reports it; `type: "vlm"` says the same). */
  vision?: boolean | null;
  tool_use?: boolean | null;
}

/** `provider` in model listings: who answered. */
export interface ProviderSummary {
  id: string;
  name: string;
  provider: string;
  base_url: string;
}

export type ModelListAnswer = Refine<
  S["ModelListAnswer"],
  "models" | "provider" | "error",
  { models: ModelInfo[]; provider: ProviderSummary; error?: ErrorBody | null }
>;

/** One provider of `GET /api/v1/llm-providers/models/all` (not in the schema at all). */
export interface ProviderModels {
  provider: ProviderSummary;
  status: "ok" | "stale" | "unavailable";
  models: ModelInfo[];
  message?: string | null;
  error?: ErrorBody | null;
  latency_ms?: number | null;
}

export interface AllModelsAnswer {
  providers: ProviderModels[];
}

export interface StreamStats {
  ttft_ms?: number | null;
  duration_ms?: number | null;
  tokens_per_second?: number | null;
}

/** `MessagePublic.stats`: the timings plus what the stream's `done` event said. */
export interface MessageStats extends StreamStats {
  finish_reason?: string | null;
  /** Why a cancelled answer stopped: "stopped" (the user), "abandoned", "shutdown"… */
  cancel_reason?: string | null;
  /** How many times the answer was continued after being cut. */
  continued?: number | null;
  usage_estimated?: boolean | null;
  context?: ContextReport | null;
  served_by?: ServedBy | null;
}

/** A tool call as stored with an assistant message (OpenAI's shape). */
export interface ToolCall {
  id: string;
  type?: string;
  function: { name: string; arguments: string };
}

export type ConversationMessage = Refine<
  S["MessagePublic"],
  "stats" | "usage" | "error" | "tool_calls" | "parts",
  {
    stats?: MessageStats | null;
    usage: Usage | null;
    error: ErrorBody | null;
    tool_calls?: ToolCall[] | null;
    parts?: ContentPart[] | null;
  }
>;

/** A chat stream's `tool_call` event: one whole call. */
export interface ToolCallEvent {
  index: number;
  id: string;
  type: string;
  name: string;
  arguments: string;
}

/** Payloads of the chat stream's SSE events (`delta`, `done`, `error`). */
export interface DeltaEvent {
  text: string;
}

export interface DoneEvent {
  finish_reason?: string | null;
  cancel_reason?: string | null;
  usage?: Usage | null;
  usage_estimated?: boolean;
  stats?: StreamStats | null;
  model?: string | null;
  context?: ContextReport | null;
  served_by?: ServedBy | null;
  message_id?: string | null;
  conversation_id?: string | null;
}

export interface StreamErrorEvent {
  code: string;
  message: string;
}

/** The compare stream's events (`POST /api/v1/compare`). */
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
