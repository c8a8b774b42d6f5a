/**
 * The one owner of the chat EventSource: open (POST /chat/streams, then GET its events_url),
 * resume (EventSource reconnects by itself and sends Last-Event-ID; the server replays what was
 * missed, so a transient `error` is never a reason to close), and stop (DELETE the stream, then
 * wait for the server's final event).
 */
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import { errorMessage } from "../api/client";
import type {
  DeltaEvent,
  DoneEvent,
  StreamCreate,
  StreamCreated,
  StreamErrorEvent,
} from "../types/api";

export type StreamPhase =
  | "idle"
  | "starting"
  | "streaming"
  | "reconnecting"
  | "stopping"
  | "done"
  | "stopped"
  | "error";

export interface StreamResult {
  text: string;
  phase: "done" | "stopped" | "error";
  done: DoneEvent | null;
  error: StreamErrorEvent | null;
  conversationId: string | null;
  streamId: string | null;
}

export interface ChatStreamState {
  phase: StreamPhase;
  text: string;
  done: DoneEvent | null;
  error: StreamErrorEvent | null;
  streamId: string | null;
  conversationId: string | null;
}

export type EventSourceFactory = (url: string) => EventSource;

export interface UseChatStreamOptions {
  client: ApiClient;
  /** Called once per stream with its final state (done, stopped or failed). */
  onFinish?: (result: StreamResult) => void;
  /** Called as soon as the server names the stream's conversation. */
  onConversation?: (conversationId: string) => void;
  eventSource?: EventSourceFactory;
  /** How long to wait for the final event after asking the server to stop. */
  stopGraceMs?: number;
}

const IDLE: ChatStreamState = {
  phase: "idle",
  text: "",
  done: null,
  error: null,
  streamId: null,
  conversationId: null,
};

const STOPPED_REASONS = new Set(["cancelled", "canceled", "stopped", "abort", "aborted"]);

function parseData<T>(event: Event): T | null {
  if (!(event instanceof MessageEvent) || typeof event.data !== "string") return null;
  try {
    return JSON.parse(event.data) as T;
  } catch {
    return null;
  }
}

export function useChatStream({
  client,
  onFinish,
  onConversation,
  eventSource = (url) => new EventSource(url),
  stopGraceMs = 5000,
}: UseChatStreamOptions) {
  const [state, setState] = useState<ChatStreamState>(IDLE);
  const source = useRef<EventSource | null>(null);
  const live = useRef<ChatStreamState>(IDLE);
  const stopRequested = useRef(false);
  const stopTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const callbacks = useRef({ onFinish, onConversation });
  callbacks.current = { onFinish, onConversation };
  const factory = useRef(eventSource);
  factory.current = eventSource;

  const update = useCallback((patch: Partial<ChatStreamState>) => {
    live.current = { ...live.current, ...patch };
    setState(live.current);
  }, []);

  const close = useCallback(() => {
    if (stopTimer.current) clearTimeout(stopTimer.current);
    stopTimer.current = null;
    source.current?.close();
    source.current = null;
  }, []);

  const finish = useCallback(
    (phase: StreamResult["phase"], patch: Partial<ChatStreamState> = {}) => {
      if (live.current.phase === "idle" || ["done", "stopped", "error"].includes(live.current.phase))
        return;
      close();
      update({ ...patch, phase });
      const s = live.current;
      callbacks.current.onFinish?.({
        text: s.text,
        phase,
        done: s.done,
        error: s.error,
        conversationId: s.conversationId,
        streamId: s.streamId,
      });
    },
    [close, update],
  );

  const listen = useCallback(
    (created: StreamCreated) => {
      const es = factory.current(created.events_url);
      source.current = es;
      es.onopen = () => {
        if (source.current !== es) return;
        if (live.current.phase === "reconnecting" || live.current.phase === "starting")
          update({ phase: stopRequested.current ? "stopping" : "streaming" });
      };
      es.addEventListener("delta", (event) => {
        const data = parseData<DeltaEvent>(event);
        if (source.current !== es || !data?.text) return;
        const phase = stopRequested.current ? "stopping" : "streaming";
        update({ text: live.current.text + data.text, phase });
      });
      es.addEventListener("done", (event) => {
        if (source.current !== es) return;
        const data = parseData<DoneEvent>(event) ?? {};
        const reason = (data.finish_reason ?? "").toLowerCase();
        const stopped = stopRequested.current || STOPPED_REASONS.has(reason);
        finish(stopped ? "stopped" : "done", { done: data });
      });
      // "error" is both the server's final `event: error` (a MessageEvent with data) and
      // EventSource's own connection-trouble signal (a plain Event).
      es.addEventListener("error", (event) => {
        if (source.current !== es) return;
        const data = parseData<StreamErrorEvent>(event);
        if (data) {
          const stopped = stopRequested.current && /cancel/i.test(data.code ?? "");
          finish(stopped ? "stopped" : "error", { error: stopped ? null : data });
          return;
        }
        if (es.readyState === 2 /* CLOSED: the browser gave up (e.g. 4xx/5xx) */) {
          if (stopRequested.current) {
            finish("stopped");
          } else {
            finish("error", {
              error: {
                code: "stream_lost",
                message: "The connection to the stream was lost and could not be resumed.",
              },
            });
          }
          return;
        }
        // CONNECTING: the browser reconnects on its own with Last-Event-ID; keep it open.
        update({ phase: "reconnecting" });
      });
    },
    [finish, update],
  );

  const start = useCallback(
    async (request: StreamCreate): Promise<StreamCreated | null> => {
      close();
      stopRequested.current = false;
      live.current = { ...IDLE, phase: "starting", conversationId: request.conversation_id ?? null };
      setState(live.current);
      let created: StreamCreated;
      try {
        created = await client.post<StreamCreated>("/api/v1/chat/streams", request);
      } catch (err) {
        const code = (err as { code?: string }).code ?? "request_failed";
        finish("error", { error: { code, message: errorMessage(err) } });
        return null;
      }
      update({ streamId: created.stream_id, conversationId: created.conversation_id });
      if (created.conversation_id) callbacks.current.onConversation?.(created.conversation_id);
      if (stopRequested.current) {
        // Stop was pressed while the stream was being created.
        void client.del(`/api/v1/chat/streams/${encodeURIComponent(created.stream_id)}`).catch(
          () => undefined,
        );
      }
      listen(created);
      return created;
    },
    [client, close, finish, listen, update],
  );

  const stop = useCallback(async () => {
    const { phase, streamId } = live.current;
    if (!["starting", "streaming", "reconnecting"].includes(phase)) return;
    stopRequested.current = true;
    update({ phase: "stopping" });
    stopTimer.current = setTimeout(() => finish("stopped"), stopGraceMs);
    if (!streamId) return;
    try {
      await client.del(`/api/v1/chat/streams/${encodeURIComponent(streamId)}`);
    } catch {
      // Already finished or gone: the final event (or the grace timer) settles it.
    }
  }, [client, finish, stopGraceMs, update]);

  /** Stop listening without cancelling (the server keeps generating and saves the answer). */
  const detach = useCallback(() => {
    close();
    stopRequested.current = false;
    live.current = IDLE;
    setState(IDLE);
  }, [close]);

  useEffect(() => () => close(), [close]);

  const active = ["starting", "streaming", "reconnecting", "stopping"].includes(state.phase);
  return { state, active, start, stop, detach };
}
