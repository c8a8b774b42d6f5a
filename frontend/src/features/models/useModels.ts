/**
 * The active provider's models for the chat picker (TanStack Query: cached per provider,
 * refreshed every minute, and on demand with `refresh=true` past the gateway's cache).
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";
import type { ApiClient } from "../../api/client";
import { errorMessage } from "../../api/client";
import type { ModelInfo, ModelListAnswer, ProviderKind } from "../../api/types";
import { listKinds } from "./modelOps";

export const MODEL_REFRESH_MS = 60_000;

export function isChatModel(model: ModelInfo): boolean {
  return model.type !== "embeddings" && !/embed/i.test(model.type ?? "");
}

/** Does the provider say whether the model is in memory? (OpenAI-compatible ones do not.) */
export function reportsState(model: ModelInfo): boolean {
  return model.state === "loaded" || model.state === "not-loaded";
}

export function isLoaded(model: ModelInfo): boolean {
  return model.state === "loaded";
}

/** Loaded models first (each group in the server's order); unknown state keeps its place. */
export function sortModels(models: ModelInfo[]): ModelInfo[] {
  return [...models.filter(isLoaded), ...models.filter((m) => !isLoaded(m))];
}

/** The model a new provider starts with: the first loaded one, else the first at all. */
export function defaultModel(models: ModelInfo[]): string | null {
  return (models.find(isLoaded) ?? models[0])?.id ?? null;
}

/** The context the model runs with: its loaded length, else its maximum (null: unknown). */
export function contextLength(model: ModelInfo | undefined | null): number | null {
  return model?.loaded_context_length ?? model?.max_context_length ?? null;
}

export const modelsKey = (providerId: string | null) => ["models", providerId ?? "active"] as const;

async function fetchModels(client: ApiClient, providerId: string | null, refresh: boolean) {
  const params = new URLSearchParams({ detailed: "true" });
  if (providerId) params.set("provider", providerId);
  if (refresh) params.set("refresh", "true");
  return client.get<ModelListAnswer>(`/api/v1/llm-providers/models?${params}`);
}

/** `providerId`: undefined = not known yet (wait), null = the caller's active provider. */
export function useModels(client: ApiClient, providerId: string | null | undefined, refreshMs = MODEL_REFRESH_MS) {
  const queryClient = useQueryClient();
  const key = modelsKey(providerId ?? null);
  const query = useQuery({
    queryKey: key,
    queryFn: () => fetchModels(client, providerId ?? null, false),
    enabled: providerId !== undefined,
    refetchInterval: refreshMs,
    staleTime: 5_000,
    retry: false,
  });
  const answer = query.data;
  const models = answer ? sortModels(answer.models.filter(isChatModel)) : [];
  const error = query.error
    ? errorMessage(query.error)
    : answer?.stale
      ? (answer.error?.message ?? "provider unreachable")
      : null;

  /** Refetch; `refresh` asks the gateway to bypass its own model cache too. */
  const reload = useCallback(
    async (refresh = false) => {
      if (providerId === undefined) return;
      if (!refresh) {
        await queryClient.invalidateQueries({ queryKey: key });
        return;
      }
      try {
        queryClient.setQueryData(key, await fetchModels(client, providerId ?? null, true));
      } catch {
        await queryClient.invalidateQueries({ queryKey: key });
      }
    },
    [client, providerId, queryClient], // `key` is derived from providerId
  );

  return {
    models,
    /** The aliases the caller may send as `model` (any provider's): shown beside the models. */
    aliases: answer?.aliases ?? [],
    loading: query.isFetching,
    error,
    stale: answer?.stale ?? false,
    providerId: answer?.provider.id ?? (query.isError ? (providerId ?? null) : null),
    fetchedAt: answer?.fetched_at ?? null,
    reload,
  };
}

/** The provider kinds the gateway offers (built-ins and installed plugins); null until known. */
export function useProviderKinds(client: ApiClient): ProviderKind[] | null {
  const query = useQuery({
    queryKey: ["provider-kinds"],
    queryFn: () => listKinds(client).catch(() => [] as ProviderKind[]),
    staleTime: Infinity,
  });
  return query.data ?? null;
}
