/**
 * Errors as sentences: the server's codes mapped to what happened and what to do. The raw
 * message stays available (shown under "Details"), since it names the address or the limit.
 */
import type { ErrorBody } from "./types";

const SENTENCES: Record<string, string> = {
  provider_unavailable: "The model server is not reachable. Check that it is running, then try again.",
  provider_timeout: "The model server stopped answering in time. Try again, or pick a smaller model.",
  bad_upstream_response: "The model server sent an answer the gateway could not read.",
  upstream_error: "The model server refused the request.",
  provider_disabled: "This provider is disabled. Enable it under Providers or pick another one.",
  no_active_provider: "No provider is active. Add or pick one under Providers.",
  model_not_found: "This model is not available on the provider any more. Pick another one.",
  context_length_exceeded:
    "The message does not fit the model's context. Shorten it or the system prompt, or lower max tokens.",
  rate_limited: "Too many requests right now. Wait a moment and try again.",
  quota_exceeded: "Your quota for this period is used up. It resets at the time in the details; ask an admin for more.",
  too_many_streams: "Too many answers are running at once. Wait for one to finish or stop one.",
  stream_running: "An answer is still being written in this chat. Wait for it or stop it first.",
  stream_lost: "The connection to the answer was lost and could not be resumed.",
  network_error: "The gateway did not answer. Is it running, and is this device online?",
  unauthorized: "Your API key was not accepted. Sign in again.",
  forbidden: "Your key may not do this.",
  not_found: "That no longer exists.",
  validation_error: "The gateway refused the request as invalid.",
  bad_request: "The gateway refused the request as invalid.",
  payload_too_large: "The message is too large to send.",
  service_unavailable: "The gateway is busy or shutting down. Try again in a moment.",
  database_unavailable: "The gateway cannot reach its database right now. Try again in a moment.",
  internal_error: "Something went wrong inside the gateway.",
  cancelled: "The answer was stopped.",
};

/** A sentence for the error; `detail` is the server's own text when it adds something. */
export function describeError(error: Pick<ErrorBody, "code" | "message">): {
  sentence: string;
  detail: string | null;
} {
  const known = SENTENCES[error.code];
  const message = (error.message ?? "").trim();
  if (known) return { sentence: known, detail: message && message !== known ? message : null };
  // An unknown code: the server's message, made to read as a sentence.
  if (!message) return { sentence: "Something went wrong.", detail: error.code || null };
  const sentence = message.charAt(0).toUpperCase() + message.slice(1);
  return { sentence: /[.!?]$/.test(sentence) ? sentence : `${sentence}.`, detail: error.code || null };
}

/** Codes that say the provider itself could not be used (its status turns offline). */
export const PROVIDER_DOWN_CODES = new Set(["provider_unavailable", "provider_timeout", "bad_upstream_response"]);

/** Whether a 404 names `field` of the request (e.g. a deleted chat's `conversation_id`). */
export function isMissing(error: ErrorBody, field: string): boolean {
  if (error.code !== "not_found" || !Array.isArray(error.details)) return false;
  return error.details.some((d: unknown) => (d as { field?: unknown } | null)?.field === field);
}
