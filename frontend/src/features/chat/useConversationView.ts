/**
 * What the chat shows for the conversation in the address: its stored messages (TanStack
 * Query) merged with this tab's stream for it (running, or finished and not yet in the
 * refetched messages), and attaching to a stream the server reports as running (after a
 * reload, or one started in another tab).
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo } from "react";
import type { ApiClient } from "../../api/client";
import { ApiError } from "../../api/client";
import type { Conversation, ConversationMessage } from "../../api/types";
import { loadMessages } from "../history/useConversations";
import type { UiMessage } from "./Message";
import { isActive, type LiveStream, type StreamRegistry } from "./streams";

export function fromServer(m: ConversationMessage): UiMessage {
  return {
    id: m.id,
    role: m.role,
    content: m.content,
    reasoning: m.reasoning ?? null,
    toolCalls: m.tool_calls ?? null,
    toolCallId: m.tool_call_id ?? null,
    images: (m.parts ?? []).flatMap((p) => (p.type === "image_url" ? [p.image_url.url] : [])),
    parentId: m.parent_id ?? null,
    siblings: m.siblings ?? [m.id],
    status: m.status,
    model: m.model,
    stats: m.stats,
    usage: m.usage,
    usageEstimated: m.stats?.usage_estimated ?? null,
    finishReason: m.stats?.finish_reason ?? null,
    cancelReason: m.stats?.cancel_reason ?? null,
    context: m.stats?.context ?? null,
    servedBy: m.stats?.served_by ?? null,
    error: m.status === "error" ? (m.error ?? { code: "error", message: "generation failed" }) : null,
  };
}

export function fromStream(s: LiveStream): UiMessage {
  const status = isActive(s) ? "streaming" : s.phase === "done" ? "complete" : s.phase === "stopped" ? "cancelled" : "error";
  // Finished and stored: its own id, so its actions work before the list is fetched again.
  const storedId = s.continues ?? (isActive(s) ? null : (s.done?.message_id ?? null));
  return {
    id: storedId ?? `live-${s.key}`,
    role: "assistant",
    content: (s.prefix ?? "") + s.text,
    reasoning: s.reasoning || null,
    toolCalls: s.toolCalls.length ? s.toolCalls : null,
    live: isActive(s) || !storedId,
    parentId: s.after !== undefined ? s.after : s.userMessageId,
    status,
    model: s.done?.model ?? s.model,
    stats: s.done?.stats ?? null,
    usage: s.done?.usage ?? null,
    usageEstimated: s.done?.usage_estimated ?? null,
    finishReason: s.done?.finish_reason ?? null,
    cancelReason: s.done?.cancel_reason ?? null,
    context: s.context,
    servedBy: s.done?.served_by ?? null,
    error: s.error,
    reconnecting: s.phase === "reconnecting",
  };
}

/** Has the stored conversation caught up with the finished stream (so the stream can go)? */
export function answerStored(stream: LiveStream, server: ConversationMessage[] | undefined, requestedAt: number): boolean {
  if (isActive(stream) || stream.finishedAt == null || !server) return false;
  const id = stream.done?.message_id;
  // The server stores the answer before it sends the final event: a list *requested* after
  // that event has it (one requested before may answer later and still lack it). A continued
  // answer was there all along: only a newer list has its new text.
  if (requestedAt > stream.finishedAt) return true;
  if (stream.phase === "error" && stream.userMessageId) {
    // A failed answer has no id in its final event: it is stored once an error answer
    // follows the question in the list.
    const at = server.findIndex((m) => m.id === stream.userMessageId);
    if (at >= 0 && server.slice(at + 1).some((m) => m.role === "assistant" && m.status === "error")) return true;
  }
  return !stream.continues && !!id && server.some((m) => m.id === id);
}

export function buildMessages(
  server: ConversationMessage[] | undefined,
  requestedAt: number,
  live: LiveStream | undefined,
): UiMessage[] {
  let list = (server ?? []).filter((m) => m.role !== "system").map(fromServer);
  if (!live || answerStored(live, server, requestedAt)) return list;
  // A regenerated, edited or continued turn replaces what followed its place.
  const cut = live.continues
    ? list.findIndex((m) => m.id === live.continues)
    : live.after === null
      ? 0
      : live.after !== undefined
        ? list.findIndex((m) => m.id === live.after) + 1 || -1
        : -1;
  // A continued answer shows its stored text, then what the stream adds.
  const continued = live.continues && cut >= 0 ? list[cut] : undefined;
  if (cut >= 0) list = list.slice(0, cut);
  const ids = new Set(list.map((m) => m.id));
  const asked = live.userText != null || live.userImages.length > 0;
  if (asked && !(live.userMessageId && ids.has(live.userMessageId)))
    list.push({
      id: `user-${live.key}`,
      role: "user",
      content: live.userText ?? "",
      images: live.userImages,
      status: "complete",
    });
  list.push(fromStream(continued ? { ...live, prefix: continued.content } : live));
  return list;
}

const notFound = (err: unknown) => err instanceof ApiError && err.status === 404;

export function useConversationView({
  client,
  registry,
  streams,
  conversationId,
  draftKey,
}: {
  client: ApiClient;
  registry: StreamRegistry;
  streams: readonly LiveStream[];
  conversationId: string | null;
  draftKey: string | null;
}) {
  const conversation = useQuery({
    queryKey: ["conversation", conversationId],
    queryFn: () => client.get<Conversation>(`/api/v1/conversations/${encodeURIComponent(conversationId!)}`),
    enabled: !!conversationId,
    retry: (count, err) => !notFound(err) && count < 2,
  });
  // Messages after the conversation: if it named a running stream, the messages fetched next
  // either lack its answer (the stream brings it) or have it (the replay is then dropped).
  const messages = useQuery({
    queryKey: ["messages", conversationId],
    queryFn: async () => {
      const requestedAt = Date.now();
      return { items: await loadMessages(client, conversationId!), requestedAt };
    },
    enabled: !!conversationId && conversation.isSuccess,
    staleTime: 10_000,
  });

  const activeStreamId = conversation.data?.active_stream_id ?? null;
  useEffect(() => {
    if (conversationId && activeStreamId && !registry.knows(activeStreamId)) registry.attach(activeStreamId, conversationId);
  }, [activeStreamId, conversationId, registry]);

  const live = useMemo(() => {
    if (!conversationId) return streams.find((s) => s.key === draftKey);
    let found: LiveStream | undefined;
    for (const s of streams) if (s.conversationId === conversationId) found = s;
    return found;
  }, [conversationId, draftKey, streams]);

  const stored = messages.data?.items;
  const requestedAt = messages.data?.requestedAt ?? 0;
  const items = useMemo(() => buildMessages(stored, requestedAt, live), [live, requestedAt, stored]);

  // A finished stream whose answer is stored now is forgotten.
  useEffect(() => {
    if (live && answerStored(live, stored, requestedAt)) registry.discard(live.key);
  }, [live, registry, requestedAt, stored]);

  const failure = conversation.error ?? messages.error;
  return {
    conversation: conversation.data ?? null,
    items,
    live,
    loading: !!conversationId && (conversation.isPending || (messages.isPending && !live)),
    gone: notFound(conversation.error),
    loadError: failure && !notFound(failure) ? failure : null,
  };
}
