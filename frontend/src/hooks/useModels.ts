/** The active provider's models for the chat picker, refreshed every minute and on switch. */
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import { errorMessage } from "../api/client";
import type { ModelInfo, ModelListAnswer } from "../types/api";

export const MODEL_REFRESH_MS = 60_000;

export function isChatModel(model: ModelInfo): boolean {
  return model.type !== "embeddings" && !/embed/i.test(model.type ?? "");
}

export function isLoaded(model: ModelInfo): boolean {
  return model.state === "loaded";
}

/** Loaded models first (each group in the server's order). */
export function sortModels(models: ModelInfo[]): ModelInfo[] {
  return [...models.filter(isLoaded), ...models.filter((m) => !isLoaded(m))];
}

/** The model a new provider starts with: the first loaded one, else the first at all. */
export function defaultModel(models: ModelInfo[]): string | null {
  return (models.find(isLoaded) ?? models[0])?.id ?? null;
}

export interface ModelsState {
  models: ModelInfo[];
  loading: boolean;
  error: string | null;
  stale: boolean;
  providerId: string | null;
  fetchedAt: string | null;
}

/** `providerId`: undefined = not known yet (wait), null = the caller's active provider. */
export function useModels(
  client: ApiClient,
  providerId: string | null | undefined,
  refreshMs = MODEL_REFRESH_MS,
) {
  const [state, setState] = useState<ModelsState>({
    models: [],
    loading: true,
    error: null,
    stale: false,
    providerId: null,
    fetchedAt: null,
  });
  const generation = useRef(0);

  const load = useCallback(
    async (refresh = false) => {
      if (providerId === undefined) return;
      const mine = ++generation.current;
      setState((s) => ({ ...s, loading: true }));
      const params = new URLSearchParams({ detailed: "true" });
      if (providerId) params.set("provider", providerId);
      if (refresh) params.set("refresh", "true");
      try {
        const answer = await client.get<ModelListAnswer>(`/api/v1/llm-providers/models?${params}`);
        if (mine !== generation.current) return;
        setState({
          models: sortModels(answer.models.filter(isChatModel)),
          loading: false,
          error: answer.stale ? (answer.error?.message ?? "provider unreachable") : null,
          stale: answer.stale,
          providerId: answer.provider.id,
          fetchedAt: answer.fetched_at,
        });
      } catch (err) {
        if (mine !== generation.current) return;
        setState({
          models: [],
          loading: false,
          error: errorMessage(err),
          stale: false,
          providerId: providerId ?? null,
          fetchedAt: null,
        });
      }
    },
    [client, providerId],
  );

  useEffect(() => {
    if (providerId === undefined) return;
    void load();
    const timer = setInterval(() => void load(), refreshMs);
    return () => clearInterval(timer);
  }, [load, providerId, refreshMs]);

  return { ...state, reload: load };
}
