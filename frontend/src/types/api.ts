/**
 * The gateway's API shapes as the UI uses them.
 *
 * Kept honest by tests/test_ui_types_sync.py: it reads the SCHEMA_FIELDS block below (JSON
 * between the markers) and checks every field exists in the OpenAPI component schema named
 * there; the `Exact` assertions at the bottom make `tsc` fail when an interface and its list
 * in SCHEMA_FIELDS disagree. Add a field here, in the list, and the server's schema together.
 */

export interface Envelope<T> {
  success: true;
  data: T;
}

export interface ErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export interface ErrorEnvelope {
  success: false;
  error: ErrorBody;
}

export type ModelType = "llm" | "vlm" | "embeddings";
export type ModelState = "loaded" | "not-loaded";

/** One entry of `GET /api/v1/llm-providers/models?detailed=true`. */
export interface ModelInfo {
  id: string;
  type?: ModelType | string | null;
  arch?: string | null;
  state?: ModelState | string | null;
  max_context_length?: number | null;
  quantization?: string | null;
  publisher?: string | null;
}

/** `provider` in model listings: who answered. */
export interface ProviderSummary {
  id: string;
  name: string;
  provider: string;
  base_url: string;
}

export interface ModelListAnswer {
  models: ModelInfo[];
  provider: ProviderSummary;
  cached: boolean;
  stale: boolean;
  fetched_at: string;
  error?: ErrorBody | null;
}

export type ProviderStatusName = "ok" | "stale" | "unavailable";

/** One provider of `GET /api/v1/llm-providers/models/all`. */
export interface ProviderModels {
  provider: ProviderSummary;
  status: ProviderStatusName;
  models: ModelInfo[];
  message?: string | null;
  error?: ErrorBody | null;
  latency_ms?: number | null;
}

export interface AllModelsAnswer {
  providers: ProviderModels[];
}

export type Scope = "global" | "user";

export interface ProviderPublic {
  id: string;
  name: string;
  provider: string;
  kind: string;
  base_url: string;
  api_key: string | null;
  has_api_key: boolean;
  default_model: string | null;
  owner_id: string | null;
  scope: Scope;
  connect_timeout: number;
  list_timeout: number;
  read_timeout: number;
  stream_idle_timeout: number;
  max_connections: number;
  max_keepalive_connections: number;
  enabled: boolean;
  created_at: string;
  updated_at: string;
}

export interface ProviderCreate {
  name: string;
  kind: string;
  base_url: string;
  api_key?: string | null;
  default_model?: string | null;
  enabled?: boolean;
  scope?: Scope | null;
}

export interface ProviderUpdate {
  name?: string;
  kind?: string;
  base_url?: string;
  api_key?: string | null;
  default_model?: string | null;
  enabled?: boolean;
}

export interface ActiveProvider {
  provider: ProviderPublic | null;
  scope: Scope | null;
}

export interface ProviderTestResult {
  ok: boolean;
  latency_ms: number;
  model_count?: number | null;
  message: string;
  error_code?: string | null;
}

export interface Me {
  user_id: string;
  name: string;
  role: string;
  key_id: string;
}

export type ThemeChoice = "system" | "light" | "dark";

/** `GET/PUT /api/v1/me/preferences`. */
export interface Preferences {
  temperature?: number | null;
  max_tokens?: number | null;
  system_prompt?: string | null;
  model?: string | null;
  provider?: string | null;
  theme?: ThemeChoice | null;
}

export interface Usage {
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  total_tokens?: number | null;
}

export interface StreamStats {
  ttft_ms?: number | null;
  duration_ms?: number | null;
  tokens_per_second?: number | null;
}

export interface ConversationSettings {
  temperature?: number | null;
  max_tokens?: number | null;
  system?: string | null;
}

export interface Conversation {
  id: string;
  title: string | null;
  provider: string | null;
  model: string | null;
  settings: ConversationSettings;
  created_at: string;
  updated_at: string;
  active_stream_id?: string | null;
}

export interface ConversationCreate {
  title?: string | null;
  provider?: string | null;
  model?: string | null;
  settings?: ConversationSettings;
}

export interface ConversationUpdate {
  title?: string | null;
  provider?: string | null;
  model?: string | null;
  settings?: ConversationSettings | null;
}

export type MessageRole = "system" | "user" | "assistant";
export type MessageStatus = "complete" | "cancelled" | "error";

export interface ConversationMessage {
  id: string;
  conversation_id: string;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  model: string | null;
  usage: Usage | null;
  stats: (StreamStats & { finish_reason?: string | null }) | null;
  error: ErrorBody | null;
  created_at: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

/** `POST /api/v1/chat/streams`. */
export interface StreamCreate {
  conversation_id?: string | null;
  provider?: string | null;
  model?: string | null;
  message: string;
  temperature?: number | null;
  max_tokens?: number | null;
  system?: string | null;
}

export interface ContextReport {
  dropped_messages: number;
  prompt_tokens_estimate: number;
}

export interface StreamCreated {
  stream_id: string;
  conversation_id: string;
  status: "running" | "complete" | "cancelled" | "error";
  provider: string;
  model: string;
  last_event_id: number;
  subscribers: number;
  context: ContextReport;
  user_message_id?: string | null;
  events_url: string;
  expires_in: number;
}

/** Payloads of the SSE events on `events_url`. */
export interface DeltaEvent {
  text: string;
}

export interface DoneEvent {
  finish_reason?: string | null;
  usage?: Usage | null;
  usage_estimated?: boolean;
  stats?: StreamStats | null;
  model?: string | null;
  context?: ContextReport | null;
  message_id?: string | null;
  conversation_id?: string | null;
}

export interface StreamErrorEvent {
  code: string;
  message: string;
}

/*
 * Interface → [OpenAPI component schema, the interface's fields]. Machine-readable: the JSON
 * between the markers is parsed by tests/test_ui_types_sync.py. A schema name starting with
 * "example:" names a schema whose list items are checked against its documented example
 * instead (the model list is free-form upstream data).
 */
/* schema-fields:begin */
export const SCHEMA_FIELDS = {
  "ErrorBody": ["ErrorBody", ["code", "message", "details"]],
  "ModelListAnswer": ["ModelListAnswer", ["models", "provider", "cached", "stale", "fetched_at", "error"]],
  "ModelInfo": ["example:ModelListAnswer.models", ["id", "type", "arch", "state", "max_context_length", "quantization", "publisher"]],
  "ProviderPublic": ["ProviderPublic", ["id", "name", "provider", "kind", "base_url", "api_key", "has_api_key", "default_model", "owner_id", "scope", "connect_timeout", "list_timeout", "read_timeout", "stream_idle_timeout", "max_connections", "max_keepalive_connections", "enabled", "created_at", "updated_at"]],
  "ProviderCreate": ["ProviderCreate", ["name", "kind", "base_url", "api_key", "default_model", "enabled", "scope"]],
  "ProviderUpdate": ["ProviderUpdate", ["name", "kind", "base_url", "api_key", "default_model", "enabled"]],
  "ActiveProvider": ["ActiveProvider", ["provider", "scope"]],
  "ProviderTestResult": ["ProviderTestResult", ["ok", "latency_ms", "model_count", "message", "error_code"]],
  "Me": ["Me", ["user_id", "name", "role", "key_id"]],
  "Preferences": ["Preferences", ["temperature", "max_tokens", "system_prompt", "model", "provider", "theme"]],
  "ConversationSettings": ["ConversationSettings", ["temperature", "max_tokens", "system"]],
  "Conversation": ["ConversationPublic", ["id", "title", "provider", "model", "settings", "created_at", "updated_at", "active_stream_id"]],
  "ConversationCreate": ["ConversationCreate", ["title", "provider", "model", "settings"]],
  "ConversationUpdate": ["ConversationUpdate", ["title", "provider", "model", "settings"]],
  "ConversationMessage": ["MessagePublic", ["id", "conversation_id", "role", "content", "status", "model", "usage", "stats", "error", "created_at"]],
  "StreamCreate": ["StreamCreate", ["conversation_id", "provider", "model", "message", "temperature", "max_tokens", "system"]],
  "StreamCreated": ["StreamCreated", ["stream_id", "conversation_id", "status", "provider", "model", "last_event_id", "subscribers", "context", "user_message_id", "events_url", "expires_in"]],
  "ContextReport": ["ContextReport", ["dropped_messages", "prompt_tokens_estimate"]]
} as const;
/* schema-fields:end */

type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type FieldsOf<K extends keyof typeof SCHEMA_FIELDS> = (typeof SCHEMA_FIELDS)[K][1][number];
function assertExact<T extends true>(): T | undefined {
  return undefined;
}
// Compile-time: each interface's keys equal its SCHEMA_FIELDS list (tsc fails otherwise).
export const schemaFieldsMatch = [
  assertExact<Exact<keyof ErrorBody, FieldsOf<"ErrorBody">>>(),
  assertExact<Exact<keyof ModelListAnswer, FieldsOf<"ModelListAnswer">>>(),
  assertExact<Exact<keyof ModelInfo, FieldsOf<"ModelInfo">>>(),
  assertExact<Exact<keyof ProviderPublic, FieldsOf<"ProviderPublic">>>(),
  assertExact<Exact<keyof ProviderCreate, FieldsOf<"ProviderCreate">>>(),
  assertExact<Exact<keyof ProviderUpdate, FieldsOf<"ProviderUpdate">>>(),
  assertExact<Exact<keyof ActiveProvider, FieldsOf<"ActiveProvider">>>(),
  assertExact<Exact<keyof ProviderTestResult, FieldsOf<"ProviderTestResult">>>(),
  assertExact<Exact<keyof Me, FieldsOf<"Me">>>(),
  assertExact<Exact<keyof Preferences, FieldsOf<"Preferences">>>(),
  assertExact<Exact<keyof ConversationSettings, FieldsOf<"ConversationSettings">>>(),
  assertExact<Exact<keyof Conversation, FieldsOf<"Conversation">>>(),
  assertExact<Exact<keyof ConversationCreate, FieldsOf<"ConversationCreate">>>(),
  assertExact<Exact<keyof ConversationUpdate, FieldsOf<"ConversationUpdate">>>(),
  assertExact<Exact<keyof ConversationMessage, FieldsOf<"ConversationMessage">>>(),
  assertExact<Exact<keyof StreamCreate, FieldsOf<"StreamCreate">>>(),
  assertExact<Exact<keyof StreamCreated, FieldsOf<"StreamCreated">>>(),
  assertExact<Exact<keyof ContextReport, FieldsOf<"ContextReport">>>(),
];
