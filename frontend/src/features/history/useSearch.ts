/**
 * Search across the user's history (`GET /api/v1/conversations/search`): titles and message
 * text, newest activity first, a page of 20 at a time. The query waits for a pause in typing.
 */
import { useInfiniteQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { ApiClient } from "../../api/client";
import { errorMessage } from "../../api/client";
import type { Page, SearchHit } from "../../api/types";

export const SEARCH_PAGE = 20;

export function useSearch(client: ApiClient, delayMs = 250) {
  const [query, setQuery] = useState("");
  const [settled, setSettled] = useState("");
  useEffect(() => {
    const timer = setTimeout(() => setSettled(query.trim()), delayMs);
    return () => clearTimeout(timer);
  }, [delayMs, query]);

  const search = useInfiniteQuery({
    queryKey: ["search", settled],
    queryFn: ({ pageParam }) =>
      client.get<Page<SearchHit>>(
        `/api/v1/conversations/search?q=${encodeURIComponent(settled)}&limit=${SEARCH_PAGE}&offset=${pageParam}`,
      ),
    initialPageParam: 0,
    getNextPageParam: (last) => (last.offset + last.items.length < last.total ? last.offset + last.items.length : undefined),
    enabled: settled.length > 0,
    staleTime: 5_000,
  });

  const active = query.trim().length > 0;
  return {
    query,
    setQuery,
    active,
    hits: search.data?.pages.flatMap((p) => p.items) ?? [],
    total: search.data?.pages[0]?.total ?? 0,
    searching: active && (settled !== query.trim() || search.isFetching),
    error: search.error ? errorMessage(search.error) : null,
    hasMore: search.hasNextPage,
    loadMore: () => void search.fetchNextPage(),
  };
}

export type SearchApi = ReturnType<typeof useSearch>;
