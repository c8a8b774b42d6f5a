/**
 * One chat turn: the answer as Markdown (a user's text stays plain, with its images), the
 * model's thinking (collapsible, open while it streams), its tool calls, errors as sentences,
 * and underneath its versions (‹ 2 / 3 ›), its actions (copy, edit, regenerate, continue,
 * delete) and facts: why it ended, model, TTFT, tokens/s, tokens.
 */
import { memo, useEffect, useRef, useState } from "react";
import type { ContextReport, ErrorBody, ServedBy, StreamStats, ToolCall, Usage } from "../../api/types";
import { CopyButton } from "../../ui/CopyButton";
import { ErrorText } from "../../ui/ErrorText";
import { formatMs } from "../../ui/format";
import {
  ChevronLeftIcon,
  ChevronRightIcon,
  ContinueIcon,
  PencilIcon,
  RefreshIcon,
  TrashIcon,
  WrenchIcon,
} from "../../ui/icons";
import { Markdown } from "./Markdown";

export interface UiMessage {
  id: string;
  role: "user" | "assistant" | "system" | "tool";
  content: string;
  status: "complete" | "cancelled" | "error" | "streaming";
  reasoning?: string | null;
  toolCalls?: ToolCall[] | null;
  toolCallId?: string | null;
  /** Images sent with a user message (data URLs). */
  images?: string[];
  parentId?: string | null;
  /** Every version of this turn, this one included (oldest first). */
  siblings?: string[];
  /** Not stored yet: this tab's stream. */
  live?: boolean;
  model?: string | null;
  stats?: StreamStats | null;
  usage?: Usage | null;
  usageEstimated?: boolean | null;
  finishReason?: string | null;
  cancelReason?: string | null;
  context?: ContextReport | null;
  /** Where it ran (admission-controlled generations and fallbacks only). */
  servedBy?: ServedBy | null;
  error?: Pick<ErrorBody, "code" | "message"> | null;
  reconnecting?: boolean;
}

/** What a person can do with a message; absent ones are not offered. */
export interface MessageActions {
  /** An answer is being written: nothing that changes the conversation now. */
  busy: boolean;
  onRegenerate: (message: UiMessage) => void;
  onContinue: (message: UiMessage) => void;
  /** Resolves true when the edited message was sent. */
  onEdit: (message: UiMessage, text: string) => Promise<boolean>;
  onDelete: (message: UiMessage) => void;
  onVersion: (message: UiMessage, id: string) => void;
}

/** Can this answer be continued (it was cut at max tokens, or stopped)? */
export function canContinue(message: UiMessage): boolean {
  if (message.role !== "assistant" || message.live || !message.content) return false;
  const reason = (message.finishReason ?? "").toLowerCase();
  return message.status === "cancelled" || (message.status === "complete" && (reason === "length" || reason === "max_tokens"));
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
    case "":
      return null;
    default:
      return "Finished";
  }
}

/** An answer's speed and size: TTFT, tokens per second, tokens ("≈": counted by the gateway). */
export function timingParts(
  stats: StreamStats | null | undefined,
  usage: Usage | null | undefined,
  usageEstimated: boolean | null | undefined,
): string[] {
  const parts: string[] = [];
  if (stats?.ttft_ms != null) parts.push(`TTFT ${formatMs(stats.ttft_ms)}`);
  if (stats?.tokens_per_second != null) parts.push(`${stats.tokens_per_second.toFixed(1)} tok/s`);
  if (usage?.completion_tokens != null) parts.push(`${usage.completion_tokens}${usageEstimated ? "≈" : ""} tokens`);
  return parts;
}

/** Where the answer ran ("served by gpu-pool · qwen:2 on http://gpu2:1234/v1"), how long it
 * queued for a slot (from 0.1 s: less is no wait worth a word), and the targets that failed before it ("after fallback from primary"),
 * each with its error code as a tooltip. */
export function ServedByLine({ served }: { served: ServedBy }) {
  const failed = served.fallback_from ?? [];
  const target = (t: { provider: string; model: string | null }) =>
    t.model && t.model !== served.model ? `${t.provider}/${t.model}` : t.provider;
  return (
    <>
      <span className="stats-served" title={served.model ? `model ${served.model}` : undefined}>
        served by {served.provider} · {served.instance} on {served.server}
      </span>
      {served.queued_ms != null && served.queued_ms >= 100 && <span>queued {formatMs(served.queued_ms)}</span>}
      {failed.length > 0 && (
        <span className="stats-fallback" title={failed.map((t) => `${target(t)}: ${t.code}`).join("\n")}>
          after fallback from {failed.map(target).join(", ")}
        </span>
      )}
    </>
  );
}

export function StatsLine({ message }: { message: UiMessage }) {
  const { stats, usage, servedBy } = message;
  const parts = timingParts(stats, usage, message.usageEstimated);
  if (stats?.duration_ms != null) parts.push(formatMs(stats.duration_ms));
  if (!parts.length && !message.model && !servedBy) return null;
  return (
    <p className="stats" data-testid="message-stats">
      {message.model && <span className="stats-model">{message.model}</span>}
      {parts.map((part) => (
        <span key={part}>{part}</span>
      ))}
      {servedBy && <ServedByLine served={servedBy} />}
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

function Thinking({ text, streaming, answering }: { text: string; streaming: boolean; answering: boolean }) {
  const [choice, setChoice] = useState<boolean | null>(null);
  const live = streaming && !answering;
  const open = choice ?? live;
  const words = text.trim() ? text.trim().split(/\s+/).length : 0;
  return (
    <div className={`thinking-block${live ? " live" : ""}`} data-testid="thinking">
      <button type="button" className="thinking-toggle" aria-expanded={open} onClick={() => setChoice(!open)}>
        <ChevronRightIcon size={14} className="chevron" />
        {live ? "Thinking…" : `Thought (${words.toLocaleString("en")} words)`}
      </button>
      {open && <div className="thinking-text">{text}</div>}
    </div>
  );
}

function prettyArguments(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function ToolCalls({ calls }: { calls: ToolCall[] }) {
  return (
    <div className="tool-calls">
      {calls.map((call, i) => (
        <details key={call.id || i} className="tool-call" data-testid="tool-call">
          <summary>
            <WrenchIcon size={14} /> Called <code>{call.function.name}</code>
          </summary>
          <pre className="tool-arguments">{prettyArguments(call.function.arguments)}</pre>
        </details>
      ))}
    </div>
  );
}

function Versions({ message, actions }: { message: UiMessage; actions?: MessageActions }) {
  const ids = message.siblings ?? [];
  const at = ids.indexOf(message.id);
  if (ids.length < 2 || at < 0) return null;
  const go = (i: number) => actions?.onVersion(message, ids[i]);
  const disabled = !actions || actions.busy;
  return (
    <span className="versions" role="group" aria-label="Versions" data-testid="versions">
      <button
        type="button"
        className="icon-button small"
        aria-label="Previous version"
        title="Previous version"
        disabled={disabled || at === 0}
        onClick={() => go(at - 1)}
      >
        <ChevronLeftIcon size={14} />
      </button>
      <span className="version-count">
        {at + 1} / {ids.length}
      </span>
      <button
        type="button"
        className="icon-button small"
        aria-label="Next version"
        title="Next version"
        disabled={disabled || at === ids.length - 1}
        onClick={() => go(at + 1)}
      >
        <ChevronRightIcon size={14} />
      </button>
    </span>
  );
}

function EditBox({ message, onSave, onCancel }: { message: UiMessage; onSave: (text: string) => Promise<boolean>; onCancel: () => void }) {
  const [text, setText] = useState(message.content);
  const [sending, setSending] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    area.current?.focus();
    area.current?.setSelectionRange(text.length, text.length);
  }, []); // only on opening
  const save = async () => {
    if (!text.trim() || sending) return;
    setSending(true);
    if (!(await onSave(text.trim()))) setSending(false);
  };
  return (
    <form
      className="edit-box"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label className="visually-hidden" htmlFor={`edit-${message.id}`}>
        Edit your message
      </label>
      <textarea
        id={`edit-${message.id}`}
        ref={area}
        rows={3}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.stopPropagation();
            onCancel();
          } else if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            void save();
          }
        }}
      />
      <div className="edit-actions">
        <button type="button" className="ghost small" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary small" disabled={!text.trim() || sending}>
          Save and send
        </button>
      </div>
    </form>
  );
}

export const Message = memo(function Message({ message, actions, last }: { message: UiMessage; actions?: MessageActions; last?: boolean }) {
  const isUser = message.role === "user";
  const isAnswer = message.role === "assistant";
  const streaming = message.status === "streaming";
  const label = isUser ? "You" : message.role === "system" ? "System" : message.role === "tool" ? "Tool" : "Assistant";
  const reason = stopReason(message);
  const dropped = !isUser ? (message.context?.dropped_messages ?? 0) : 0;
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const stored = !message.live && !message.id.startsWith("user-");
  const idle = !!actions && !actions.busy && stored;
  return (
    <>
      {dropped > 0 && <DroppedNotice dropped={dropped} />}
      <article
        className={`message ${message.role}`}
        aria-label={`${label} message`}
        data-status={message.status}
        data-id={message.id}
        aria-busy={streaming || undefined}
      >
        <div className="message-role" aria-hidden="true">
          {label}
        </div>
        <div className={`message-body${streaming ? " streaming" : ""}`}>
          {isAnswer && message.reasoning && (
            <Thinking text={message.reasoning} streaming={streaming} answering={!!message.content || !!message.toolCalls?.length} />
          )}
          {isUser && !!message.images?.length && (
            <div className="message-images">
              {message.images.map((url, i) => (
                <img key={i} src={url} alt={`Attached image ${i + 1}`} />
              ))}
            </div>
          )}
          {editing && actions ? (
            <EditBox
              message={message}
              onCancel={() => setEditing(false)}
              onSave={async (text) => {
                const sent = await actions.onEdit(message, text);
                if (sent) setEditing(false);
                return sent;
              }}
            />
          ) : isUser ? (
            message.content && <p className="user-text">{message.content}</p>
          ) : message.role === "tool" ? (
            <pre className="tool-result" data-testid="tool-result">
              {message.content}
            </pre>
          ) : message.content ? (
            <Markdown text={message.content} />
          ) : streaming && !message.reasoning && !message.toolCalls?.length ? (
            <p className="thinking" aria-label="Waiting for the first token">
              <span />
              <span />
              <span />
            </p>
          ) : null}
          {isAnswer && !!message.toolCalls?.length && <ToolCalls calls={message.toolCalls} />}
          {message.reconnecting && (
            <p className="notice" role="status">
              Connection interrupted, resuming…
            </p>
          )}
          {message.error && <ErrorText error={message.error} />}
        </div>
        {!streaming && !editing && (
          <footer className="message-footer">
            <Versions message={message} actions={actions} />
            {message.content && (
              <CopyButton text={message.content} label={isUser ? "Copy message" : "Copy answer"} />
            )}
            {idle && isUser && (
              <button type="button" className="icon-button small" aria-label="Edit message" title="Edit and send again" onClick={() => setEditing(true)}>
                <PencilIcon size={15} />
              </button>
            )}
            {idle && isAnswer && (
              <button
                type="button"
                className="icon-button small"
                aria-label="Regenerate answer"
                title={last ? "Regenerate (Alt+R)" : "Regenerate"}
                onClick={() => actions.onRegenerate(message)}
              >
                <RefreshIcon size={15} />
              </button>
            )}
            {idle && last && canContinue(message) && (
              <button type="button" className="ghost small" onClick={() => actions.onContinue(message)}>
                <ContinueIcon size={14} /> Continue
              </button>
            )}
            {idle &&
              (confirming ? (
                <span className="confirm" role="group" aria-label="Delete this message?">
                  <button
                    type="button"
                    className="danger small"
                    autoFocus
                    onClick={() => {
                      setConfirming(false);
                      actions.onDelete(message);
                    }}
                  >
                    Delete
                  </button>
                  <button type="button" className="ghost small" onClick={() => setConfirming(false)}>
                    Keep
                  </button>
                </span>
              ) : (
                <button
                  type="button"
                  className="icon-button small"
                  aria-label="Delete message"
                  title="Delete this message"
                  onClick={() => setConfirming(true)}
                >
                  <TrashIcon size={15} />
                </button>
              ))}
            {!isUser && reason && (
              <span
                className={`badge${message.status === "error" ? "" : reason === "Finished" ? " quiet" : " warn"}`}
                data-testid="stop-reason"
                title={message.finishReason ? `finish_reason: ${message.finishReason}` : undefined}
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
