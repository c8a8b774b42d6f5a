/**
 * The chat streams of this tab, followed whichever conversation is on screen.
 *
 * `StreamRegistry` is the one owner of a stream's lifecycle: open (POST /chat/streams, then
 * follow its events with the shared SSE client), resume (the follower reconnects with
 * `Last-Event-ID`; the server replays what was missed), attach (to a stream the server
 * reports for a conversation, e.g. after a reload: `active_stream_id`, replayed from the
 * start) and stop (DELETE, then wait for the final event). A stream keeps being followed when
 * the user opens another chat, so the server never sees it abandoned and lets it finish.
 *
 * React reads it with `useStreams` (useSyncExternalStore): the snapshot is a new array on
 * every change.
 */
import { useEffect, useState, useSyncExternalStore } from "react";
import type { ApiClient } from "../../api/client";
import { ApiError, errorBody } from "../../api/client";
import { eventData, followSse } from "../../api/sse";
import type {
  ContextReport,
  DeltaEvent,
  DoneEvent,
  ErrorBody,
  StreamCreate,
  StreamCreated,
  StreamErrorEvent,
  StreamPublic,
  ToolCall,
  ToolCallEvent,
} from "../../api/types";

export type StreamPhase = "starting" | "streaming" | "reconnecting" | "stopping" | "done" | "stopped" | "error";

export interface LiveStream {
  /** Local id (a stream has no server id until its POST answered). */
  key: string;
  conversationId: string | null;
  streamId: string | null;
  providerId: string | null;
  model: string | null;
  /** The message this stream answers; null when attached to a stream started elsewhere. */
  userText: string | null;
  userMessageId: string | null;
  /** Images sent with the message (data URLs), shown with it. */
  userImages: string[];
  /**
   * Where the answer goes in the conversation: after this message (the path beyond it is
   * hidden while the stream runs: a regenerated answer, an edited question), `null` from the
   * start (the first question edited), `undefined` after everything (an ordinary turn).
   */
  after?: string | null;
  /** Continuing an answer: its id and the text it had (the stream's text follows it). */
  continues?: string | null;
  prefix?: string;
  phase: StreamPhase;
  text: string;
  reasoning: string;
  toolCalls: ToolCall[];
  done: DoneEvent | null;
  error: StreamErrorEvent | null;
  context: ContextReport | null;
  /** When it finished (ms since the epoch), else null. */
  finishedAt: number | null;
}

const ACTIVE: ReadonlySet<StreamPhase> = new Set(["starting", "streaming", "reconnecting", "stopping"]);
const STOPPED_REASONS = new Set(["cancelled", "canceled", "stopped", "abort", "aborted"]);

/** A stream before its first event: what it has learnt so far is nothing. */
function unstarted(): Pick<
  LiveStream,
  "phase" | "text" | "reasoning" | "toolCalls" | "done" | "error" | "context" | "finishedAt"
> {
  return { phase: "starting", text: "", reasoning: "", toolCalls: [], done: null, error: null, context: null, finishedAt: null };
}

export function isActive(stream: LiveStream | null | undefined): boolean {
  return !!stream && ACTIVE.has(stream.phase);
}

export interface RegistryHooks {
  /** The server named the stream's conversation (a new chat got its id). */
  onConversation?: (stream: LiveStream) => void;
  /** The stream ended: done, stopped or failed (after its POST succeeded). */
  onFinish?: (stream: LiveStream) => void;
}

export interface RegistryOptions {
  /** How long to wait for the final event after asking the server to stop. */
  stopGraceMs?: number;
  retryDelaysMs?: number[];
}

export interface StartResult {
  key: string;
  /** Resolves once the POST answered: the error when it failed (nothing was stored then). */
  result: Promise<{ created: StreamCreated | null; error: ErrorBody | null }>;
}

export class StreamRegistry {
  hooks: RegistryHooks = {};
  private streams = new Map<string, LiveStream>();
  private controllers = new Map<string, AbortController>();
  private stopTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private stopRequested = new Set<string>();
  /** Server stream ids this tab followed to their end: never attached to again. */
  private ended = new Set<string>();
  private listeners = new Set<() => void>();
  private snapshot: readonly LiveStream[] = [];
  private counter = 0;

  constructor(
    private readonly client: ApiClient,
    private readonly options: RegistryOptions = {},
  ) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): readonly LiveStream[] => this.snapshot;

  get(key: string | null | undefined): LiveStream | undefined {
    return key ? this.streams.get(key) : undefined;
  }

  /** The newest stream of a conversation (running or finished and not yet discarded). */
  forConversation(conversationId: string | null | undefined): LiveStream | undefined {
    if (!conversationId) return undefined;
    let found: LiveStream | undefined;
    for (const stream of this.streams.values()) if (stream.conversationId === conversationId) found = stream;
    return found;
  }

  /** Is this tab following (or did it follow) the server stream? */
  knows(streamId: string): boolean {
    if (this.ended.has(streamId)) return true;
    for (const stream of this.streams.values()) if (stream.streamId === streamId) return true;
    return false;
  }

  private emit(): void {
    this.snapshot = [...this.streams.values()];
    for (const listener of this.listeners) listener();
  }

  private set(key: string, patch: Partial<LiveStream>): LiveStream | undefined {
    const current = this.streams.get(key);
    if (!current) return undefined;
    const next = { ...current, ...patch };
    this.streams.set(key, next);
    this.emit();
    return next;
  }

  private add(stream: Omit<LiveStream, "key">): LiveStream {
    const full = { ...stream, key: `stream-${++this.counter}` };
    this.streams.set(full.key, full);
    this.emit();
    return full;
  }

  start(
    request: StreamCreate,
    meta: {
      providerId: string | null;
      model: string | null;
      after?: string | null;
      continues?: string | null;
      prefix?: string;
    },
  ): StartResult {
    const stream = this.add({
      conversationId: request.conversation_id ?? null,
      streamId: null,
      providerId: meta.providerId,
      model: meta.model,
      userText: messageText(request.message),
      userImages: messageImages(request.message),
      userMessageId: null,
      after: meta.after,
      continues: meta.continues ?? null,
      prefix: meta.prefix ?? "",
      ...unstarted(),
    });
    const key = stream.key;
    const result = this.client.post<StreamCreated>("/api/v1/chat/streams", request).then(
      (created) => {
        const next = this.set(key, {
          streamId: created.stream_id,
          conversationId: created.conversation_id,
          userMessageId: created.user_message_id ?? null,
          context: created.context,
          model: created.model || meta.model,
        });
        if (next) this.hooks.onConversation?.(next);
        if (this.stopRequested.has(key)) void this.requestStop(created.stream_id);
        this.follow(key, created.stream_id, "");
        return { created, error: null };
      },
      (err: unknown) => {
        // Nothing was stored: the stream disappears and the caller shows the error.
        this.streams.delete(key);
        this.emit();
        return { created: null, error: errorBody(err) };
      },
    );
    return { key, result };
  }

  /** Follow a stream the server reports as running (replayed from its first event). */
  attach(streamId: string, conversationId: string): LiveStream {
    for (const stream of this.streams.values()) if (stream.streamId === streamId) return stream;
    const stream = this.add({
      conversationId,
      streamId,
      providerId: null,
      model: null,
      userText: null,
      userImages: [],
      userMessageId: null,
      ...unstarted(),
    });
    this.follow(stream.key, streamId, "0");
    // A stream that continues an answer grows that answer in place (after a reload too).
    this.client.get<StreamPublic>(`/api/v1/chat/streams/${encodeURIComponent(streamId)}`).then(
      (info) => {
        if (info.continues_message_id) this.set(stream.key, { continues: info.continues_message_id });
      },
      () => undefined, // the events say how it ends
    );
    return stream;
  }

  private follow(key: string, streamId: string, lastEventId: string): void {
    const controller = new AbortController();
    this.controllers.set(key, controller);
    const phaseNow = () => (this.stopRequested.has(key) ? "stopping" : "streaming");
    followSse({
      url: `${this.client.baseUrl}/api/v1/chat/streams/${encodeURIComponent(streamId)}/events`,
      apiKey: this.client.apiKey,
      lastEventId,
      signal: controller.signal,
      retryDelaysMs: this.options.retryDelaysMs,
      onOpen: () => {
        const s = this.streams.get(key);
        if (s && (s.phase === "starting" || s.phase === "reconnecting")) this.set(key, { phase: phaseNow() });
      },
      onReconnecting: () => {
        if (this.streams.get(key)?.phase !== "stopping") this.set(key, { phase: "reconnecting" });
      },
      onEvent: (event) => {
        const s = this.streams.get(key);
        if (!s) return true;
        if (event.event === "delta") {
          const data = eventData<DeltaEvent>(event);
          if (data?.text) this.set(key, { text: s.text + data.text, phase: phaseNow() });
          return false;
        }
        if (event.event === "reasoning") {
          const data = eventData<DeltaEvent>(event);
          if (data?.text) this.set(key, { reasoning: s.reasoning + data.text, phase: phaseNow() });
          return false;
        }
        if (event.event === "tool_call") {
          const data = eventData<ToolCallEvent>(event);
          if (data?.name) {
            const call = { id: data.id, type: data.type, function: { name: data.name, arguments: data.arguments } };
            this.set(key, { toolCalls: [...s.toolCalls, call], phase: phaseNow() });
          }
          return false;
        }
        if (event.event === "done") {
          const data = eventData<DoneEvent>(event) ?? {};
          const reason = (data.finish_reason ?? "").toLowerCase();
          const stopped = this.stopRequested.has(key) || STOPPED_REASONS.has(reason);
          this.finish(key, stopped ? "stopped" : "done", { done: data, context: data.context ?? s.context });
          return true;
        }
        if (event.event === "error") {
          const data = eventData<StreamErrorEvent>(event) ?? { code: "error", message: "generation failed" };
          const stopped = this.stopRequested.has(key) && /cancel/i.test(data.code ?? "");
          this.finish(key, stopped ? "stopped" : "error", { error: stopped ? null : data });
          return true;
        }
        return false;
      },
    }).then(
      (end) => {
        // "over": the server had nothing after our id (it ended while we reconnected).
        if (end === "over") this.finish(key, this.stopRequested.has(key) ? "stopped" : "done");
      },
      (err: unknown) => {
        if (this.stopRequested.has(key)) {
          this.finish(key, "stopped");
          return;
        }
        const gone = err instanceof ApiError && err.status === 404;
        this.finish(key, "error", {
          error: gone
            ? { code: "stream_lost", message: "The answer's stream expired before it could be followed." }
            : errorBody(err),
        });
      },
    );
  }

  private async requestStop(streamId: string): Promise<void> {
    try {
      await this.client.del(`/api/v1/chat/streams/${encodeURIComponent(streamId)}`);
    } catch {
      // Already finished or gone: the final event (or the grace timer) settles it.
    }
  }

  async stop(key: string): Promise<void> {
    const stream = this.streams.get(key);
    if (!stream || !["starting", "streaming", "reconnecting"].includes(stream.phase)) return;
    this.stopRequested.add(key);
    this.set(key, { phase: "stopping" });
    this.stopTimers.set(
      key,
      setTimeout(() => this.finish(key, "stopped"), this.options.stopGraceMs ?? 5000),
    );
    if (stream.streamId) await this.requestStop(stream.streamId);
  }

  private finish(key: string, phase: "done" | "stopped" | "error", patch: Partial<LiveStream> = {}): void {
    const stream = this.streams.get(key);
    if (!stream || !ACTIVE.has(stream.phase)) return;
    const timer = this.stopTimers.get(key);
    if (timer) clearTimeout(timer);
    this.stopTimers.delete(key);
    this.controllers.get(key)?.abort();
    this.controllers.delete(key);
    if (stream.streamId) this.ended.add(stream.streamId);
    const next = this.set(key, { ...patch, phase, finishedAt: Date.now() });
    if (next) this.hooks.onFinish?.(next);
  }

  /** Forget a finished stream (its answer is in the conversation's messages now). */
  discard(key: string): void {
    const stream = this.streams.get(key);
    if (!stream || ACTIVE.has(stream.phase)) return;
    this.streams.delete(key);
    this.stopRequested.delete(key);
    this.emit();
  }

  /** Stop following everything (sign-out): the server keeps generating and saves answers. */
  close(): void {
    for (const controller of this.controllers.values()) controller.abort();
    for (const timer of this.stopTimers.values()) clearTimeout(timer);
    this.controllers.clear();
    this.stopTimers.clear();
    this.streams.clear();
    this.emit();
  }
}

/** Every stream of the registry, re-rendering on each change. */
export function useStreams(registry: StreamRegistry): readonly LiveStream[] {
  return useSyncExternalStore(registry.subscribe, registry.getSnapshot);
}

/** One registry per signed-in client, closed when the workspace goes (sign-out). */
export function useStreamRegistry(client: ApiClient, hooks: RegistryHooks): StreamRegistry {
  const [registry] = useState(() => new StreamRegistry(client));
  registry.hooks = hooks;
  useEffect(() => () => registry.close(), [registry]);
  return registry;
}

/** The images (data URLs) of a message the user sends. */
export function messageImages(message: StreamCreate["message"]): string[] {
  if (message == null || typeof message === "string") return [];
  return message.flatMap((part) => (part.type === "image_url" ? [part.image_url.url] : []));
}

/** The text of a message the user sends: the string itself, or its text parts joined. */
export function messageText(message: StreamCreate["message"]): string | null {
  if (message == null) return null;
  if (typeof message === "string") return message;
  const texts = message.flatMap((part) => (part.type === "text" ? [part.text] : []));
  return texts.length > 0 ? texts.join("\n") : null;
}
