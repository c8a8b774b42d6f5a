/** Chat history: the caller's conversations (newest first), rename, delete, messages. */
import { useCallback, useEffect, useState } from "react";
import type { ApiClient } from "../api/client";
import { ApiError, errorMessage } from "../api/client";
import type { Conversation, ConversationMessage, Page } from "../types/api";

const PAGE = 200;
const MAX_MESSAGES = 5000;

function items<T>(answer: Page<T> | T[]): T[] {
  return Array.isArray(answer) ? answer : (answer?.items ?? []);
}

function newestFirst(a: Conversation, b: Conversation): number {
  return (b.updated_at ?? "").localeCompare(a.updated_at ?? "");
}

/** Every message of a conversation, oldest first (the endpoint is paged). */
export async function loadMessages(client: ApiClient, id: string): Promise<ConversationMessage[]> {
  const all: ConversationMessage[] = [];
  for (let offset = 0; offset < MAX_MESSAGES; offset += PAGE) {
    const answer = await client.get<Page<ConversationMessage> | ConversationMessage[]>(
      `/api/v1/conversations/${encodeURIComponent(id)}/messages?limit=${PAGE}&offset=${offset}`,
    );
    const page = items(answer);
    all.push(...page);
    const total = Array.isArray(answer) ? page.length : answer.total;
    if (page.length < PAGE || all.length >= total) break;
  }
  return all;
}

export function useConversations(client: ApiClient) {
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [available, setAvailable] = useState(true);

  const reload = useCallback(async () => {
    try {
      const answer = await client.get<Page<Conversation> | Conversation[]>(
        "/api/v1/conversations?limit=100",
      );
      setConversations(items(answer).sort(newestFirst));
      setError(null);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setAvailable(false);
      else setError(errorMessage(err));
    } finally {
      setLoading(false);
    }
  }, [client]);

  useEffect(() => {
    void reload();
  }, [reload]);

  const rename = useCallback(
    async (id: string, title: string) => {
      const updated = await client.patch<Conversation>(
        `/api/v1/conversations/${encodeURIComponent(id)}`,
        { title },
      );
      setConversations((list) => list.map((c) => (c.id === id ? { ...c, ...updated } : c)));
    },
    [client],
  );

  const remove = useCallback(
    async (id: string) => {
      await client.del(`/api/v1/conversations/${encodeURIComponent(id)}`);
      setConversations((list) => list.filter((c) => c.id !== id));
    },
    [client],
  );

  return { conversations, loading, error, available, reload, rename, remove };
}
