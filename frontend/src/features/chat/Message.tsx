/**
 * One chat turn: the answer as Markdown (a user's text stays plain), errors as sentences, and
 * underneath its actions (copy) and facts: why it ended, model, TTFT, tokens/s, tokens.
 */
import { memo } from "react";
import type { ContextReport, ErrorBody, StreamStats, Usage } from "../../api/types";
import { CopyButton } from "../../ui/CopyButton";
import { ErrorText } from "../../ui/ErrorText";
import { Markdown } from "./Markdown";

export interface UiMessage {
  id: string;
  role: "user" | "assistant" | "system" | "tool";
  content: string;
  status: "complete" | "cancelled" | "error" | "streaming";
  model?: string | null;
  stats?: StreamStats | null;
  usage?: Usage | null;
  usageEstimated?: boolean | null;
  finishReason?: string | null;
  cancelReason?: string | null;
  context?: ContextReport | null;
  error?: Pick<ErrorBody, "code" | "message"> | null;
  reconnecting?: boolean;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

/** Why the answer ended, in words (null for an ordinary finish). */
export function stopReason(message: UiMessage): string | null {
  if (message.status === "streaming") return null;
  if (message.status === "error") return "Failed";
  if (message.status === "cancelled") {
    if (message.cancelReason === "abandoned") return "Stopped: nobody was connected";
    if (message.cancelReason === "shutdown") return "Stopped: the gateway shut down";
    return "Stopped by you";
  }
  switch ((message.finishReason ?? "").toLowerCase()) {
    case "length":
    case "max_tokens":
      return "Cut at the max tokens limit";
    case "content_filter":
      return "Stopped by the provider's content filter";
    case "tool_calls":
      return "Ended with a tool call";
    default:
      return null;
  }
}

export function StatsLine({ message }: { message: UiMessage }) {
  const parts: string[] = [];
  const { stats, usage } = message;
  if (stats?.ttft_ms != null) parts.push(`TTFT ${formatMs(stats.ttft_ms)}`);
  if (stats?.tokens_per_second != null) parts.push(`${stats.tokens_per_second.toFixed(1)} tok/s`);
  if (usage?.completion_tokens != null)
    parts.push(`${usage.completion_tokens}${message.usageEstimated ? "≈" : ""} tokens`);
  if (stats?.duration_ms != null) parts.push(formatMs(stats.duration_ms));
  if (!parts.length && !message.model) return null;
  return (
    <p className="stats" data-testid="message-stats">
      {message.model && <span className="stats-model">{message.model}</span>}
      {parts.map((part) => (
        <span key={part}>{part}</span>
      ))}
    </p>
  );
}

/** Shown above an answer whose question was sent without the oldest turns. */
export function DroppedNotice({ dropped }: { dropped: number }) {
  return (
    <p className="context-dropped" role="note" data-testid="context-dropped">
      {dropped === 1 ? "1 earlier message no longer fits" : `${dropped} earlier messages no longer fit`} the
      model's context and {dropped === 1 ? "was" : "were"} not sent with this question.
    </p>
  );
}

export const Message = memo(function Message({ message }: { message: UiMessage }) {
  const isUser = message.role === "user";
  const streaming = message.status === "streaming";
  const label = isUser ? "You" : message.role === "system" ? "System" : message.role === "tool" ? "Tool" : "Assistant";
  const reason = stopReason(message);
  const dropped = !isUser ? (message.context?.dropped_messages ?? 0) : 0;
  return (
    <>
      {dropped > 0 && <DroppedNotice dropped={dropped} />}
      <article
        className={`message ${message.role}`}
        aria-label={`${label} message`}
        data-status={message.status}
        aria-busy={streaming || undefined}
      >
        <div className="message-role" aria-hidden="true">
          {label}
        </div>
        <div className={`message-body${streaming ? " streaming" : ""}`}>
          {isUser ? (
            <p className="user-text">{message.content}</p>
          ) : message.content ? (
            <Markdown text={message.content} />
          ) : streaming ? (
            <p className="thinking" aria-label="Waiting for the first token">
              <span />
              <span />
              <span />
            </p>
          ) : null}
          {message.reconnecting && (
            <p className="notice" role="status">
              Connection interrupted, resuming…
            </p>
          )}
          {message.error && <ErrorText error={message.error} />}
        </div>
        {!streaming && (
          <footer className="message-footer">
            {message.content && (
              <CopyButton text={message.content} label={isUser ? "Copy message" : "Copy answer"} />
            )}
            {!isUser && reason && (
              <span
                className={`badge${message.status === "error" ? "" : " warn"}`}
                data-testid="stop-reason"
                role={message.status === "cancelled" ? "status" : undefined}
              >
                {reason}
              </span>
            )}
            {!isUser && <StatsLine message={message} />}
          </footer>
        )}
      </article>
    </>
  );
});
