/** One chat turn: markdown answer, copy button, error inline, TTFT and tokens/s underneath. */
import { memo } from "react";
import type { ErrorBody, StreamStats, Usage } from "../types/api";
import { CopyButton } from "./CopyButton";
import { Markdown } from "./Markdown";

export interface UiMessage {
  id: string;
  role: "user" | "assistant" | "system";
  content: string;
  status: "complete" | "cancelled" | "error" | "streaming";
  model?: string | null;
  stats?: StreamStats | null;
  usage?: Usage | null;
  usageEstimated?: boolean;
  error?: Pick<ErrorBody, "code" | "message"> | null;
  reconnecting?: boolean;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
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

export const Message = memo(function Message({ message }: { message: UiMessage }) {
  const isUser = message.role === "user";
  const streaming = message.status === "streaming";
  const label = isUser ? "You" : message.role === "system" ? "System" : "Assistant";
  return (
    <article
      className={`message ${message.role}`}
      aria-label={`${label} message`}
      data-status={message.status}
      aria-busy={streaming || undefined}
    >
      <div className="message-role" aria-hidden="true">
        {isUser ? "You" : label}
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
        {message.status === "cancelled" && (
          <p className="notice" role="status">
            Stopped.
          </p>
        )}
        {message.error && (
          <div className="inline-error" role="alert">
            <strong>{message.error.code}</strong>: {message.error.message}
          </div>
        )}
      </div>
      {!isUser && !streaming && (
        <footer className="message-footer">
          <StatsLine message={message} />
          {message.content && <CopyButton text={message.content} label="Copy answer" />}
        </footer>
      )}
    </article>
  );
});
