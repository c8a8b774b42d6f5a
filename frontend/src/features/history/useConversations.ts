/**
 * Chat history (TanStack Query): the caller's conversations, newest first, a page at a time
 * (more load as the list is scrolled to its end), plus rename, delete and a conversation's
 * messages.
 */
import { useInfiniteQuery, useQueryClient, type InfiniteData } from "@tanstack/react-query";
import { useCallback } from "react";
import type { ApiClient } from "../../api/client";
import { ApiError, errorMessage } from "../../api/client";
import type { Conversation, ConversationMessage, Page } from "../../api/types";

export const HISTORY_PAGE = 50;
const MESSAGE_PAGE = 200;
const MAX_MESSAGES = 5000;
export const HISTORY_KEY = ["conversations"] as const;

/** Every message of a conversation, oldest first (the endpoint is paged). */
export async function loadMessages(client: ApiClient, id: string): Promise<ConversationMessage[]> {
  const all: ConversationMessage[] = [];
  for (let offset = 0; offset < MAX_MESSAGES; offset += MESSAGE_PAGE) {
    const page = await client.get<Page<ConversationMessage>>(
      `/api/v1/conversations/${encodeURIComponent(id)}/messages?limit=${MESSAGE_PAGE}&offset=${offset}`,
    );
    all.push(...page.items);
    if (page.items.length < MESSAGE_PAGE || all.length >= page.total) break;
  }
  return all;
}

type History = InfiniteData<Page<Conversation>, number>;

export function useConversations(client: ApiClient) {
  const queryClient = useQueryClient();
  const query = useInfiniteQuery({
    queryKey: HISTORY_KEY,
    queryFn: ({ pageParam }) =>
      client.get<Page<Conversation>>(`/api/v1/conversations?limit=${HISTORY_PAGE}&offset=${pageParam}`),
    initialPageParam: 0,
    getNextPageParam: (last) => (last.offset + last.items.length < last.total ? last.offset + last.items.length : undefined),
    retry: (count, err) => !(err instanceof ApiError && err.status === 404) && count < 2,
  });

  // Pages are fetched at different moments: a chat may show up twice after activity moved it.
  const seen = new Set<string>();
  const conversations: Conversation[] = [];
  for (const page of query.data?.pages ?? [])
    for (const c of page.items)
      if (!seen.has(c.id)) {
        seen.add(c.id);
        conversations.push(c);
      }

  const patch = useCallback(
    (change: (c: Conversation) => Conversation | null) =>
      queryClient.setQueryData<History>(HISTORY_KEY, (data) =>
        data
          ? {
              ...data,
              pages: data.pages.map((p) => ({
                ...p,
                items: p.items.map(change).filter((c): c is Conversation => c !== null),
              })),
            }
          : data,
      ),
    [queryClient],
  );

  const rename = useCallback(
    async (id: string, title: string) => {
      const updated = await client.patch<Conversation>(`/api/v1/conversations/${encodeURIComponent(id)}`, { title });
      patch((c) => (c.id === id ? { ...c, ...updated } : c));
    },
    [client, patch],
  );

  const remove = useCallback(
    async (id: string) => {
      await client.del(`/api/v1/conversations/${encodeURIComponent(id)}`);
      patch((c) => (c.id === id ? null : c));
      queryClient.removeQueries({ queryKey: ["conversation", id] });
      queryClient.removeQueries({ queryKey: ["messages", id] });
    },
    [client, patch, queryClient],
  );

  const unavailable = query.error instanceof ApiError && query.error.status === 404;
  return {
    conversations,
    loading: query.isPending,
    error: query.error && !unavailable ? errorMessage(query.error) : null,
    available: !unavailable,
    hasMore: query.hasNextPage,
    loadingMore: query.isFetchingNextPage,
    loadMore: () => void query.fetchNextPage(),
    reload: () => queryClient.invalidateQueries({ queryKey: HISTORY_KEY }),
    rename,
    remove,
  };
}
