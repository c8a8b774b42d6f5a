/**
 * Providers as the UI shows them: configs (`/llm-providers`), reachability and model counts
 * (`/models/all`), latency (`/{id}/test`) and the caller's active one (`/active`, `/activate`).
 */
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import { errorMessage } from "../api/client";
import type {
  ActiveProvider,
  AllModelsAnswer,
  ProviderCreate,
  ProviderModels,
  ProviderPublic,
  ProviderTestResult,
  ProviderUpdate,
} from "../types/api";

export type Health = "online" | "offline" | "stale" | "checking" | "unknown";

export interface ProviderHealth {
  health: Health;
  latencyMs: number | null;
  message: string | null;
  modelCount: number | null;
}

export const REFRESH_MS = 60_000;

export function healthFromStatus(status: ProviderModels | undefined): ProviderHealth {
  if (!status) return { health: "unknown", latencyMs: null, message: null, modelCount: null };
  const health: Health =
    status.status === "ok" ? "online" : status.status === "stale" ? "stale" : "offline";
  return {
    health,
    latencyMs: status.latency_ms ?? null,
    message: status.message ?? status.error?.message ?? null,
    modelCount: status.models?.length ?? null,
  };
}

export function healthFromTest(result: ProviderTestResult): ProviderHealth {
  return {
    health: result.ok ? "online" : "offline",
    latencyMs: result.latency_ms,
    message: result.message,
    modelCount: result.model_count ?? null,
  };
}

export function useProviders(client: ApiClient, refreshMs = REFRESH_MS) {
  const [providers, setProviders] = useState<ProviderPublic[]>([]);
  const [health, setHealth] = useState<Record<string, ProviderHealth>>({});
  /** undefined until `/active` answered; null = no provider at all. */
  const [activeId, setActiveId] = useState<string | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [switching, setSwitching] = useState(false);
  const activeRef = useRef<string | null | undefined>(undefined);
  activeRef.current = activeId;

  const test = useCallback(
    async (id: string): Promise<ProviderTestResult | null> => {
      setHealth((h) => ({
        ...h,
        [id]: { ...(h[id] ?? healthFromStatus(undefined)), health: "checking" },
      }));
      try {
        const result = await client.post<ProviderTestResult>(
          `/api/v1/llm-providers/${encodeURIComponent(id)}/test`,
        );
        setHealth((h) => ({ ...h, [id]: healthFromTest(result) }));
        return result;
      } catch (err) {
        setHealth((h) => ({
          ...h,
          [id]: { health: "offline", latencyMs: null, message: errorMessage(err), modelCount: null },
        }));
        return null;
      }
    },
    [client],
  );

  const refreshStatus = useCallback(async () => {
    try {
      const all = await client.get<AllModelsAnswer>("/api/v1/llm-providers/models/all");
      setHealth((previous) => {
        const next: Record<string, ProviderHealth> = {};
        for (const entry of all.providers) {
          const fromList = healthFromStatus(entry);
          const old = previous[entry.provider.id];
          // A cached list answers in ~0 ms; keep the measured round trip of the last test.
          if (old?.latencyMs != null && fromList.health === old.health)
            fromList.latencyMs = old.latencyMs;
          next[entry.provider.id] = fromList;
        }
        return next;
      });
    } catch (err) {
      setError(errorMessage(err));
    }
  }, [client]);

  const reload = useCallback(async () => {
    try {
      const [list, active] = await Promise.all([
        client.get<ProviderPublic[]>("/api/v1/llm-providers"),
        client.get<ActiveProvider>("/api/v1/llm-providers/active"),
      ]);
      setProviders(list);
      setActiveId(active.provider?.id ?? null);
      setError(null);
      await refreshStatus();
      if (active.provider) void test(active.provider.id);
    } catch (err) {
      setError(errorMessage(err));
      setActiveId((current) => (current === undefined ? null : current));
    }
  }, [client, refreshStatus, test]);

  useEffect(() => {
    void reload();
    const timer = setInterval(() => {
      void refreshStatus();
      if (activeRef.current) void test(activeRef.current);
    }, refreshMs);
    return () => clearInterval(timer);
  }, [reload, refreshStatus, refreshMs, test]);

  /** Switch the caller's provider (user scope): takes effect for the next request. */
  const activate = useCallback(
    async (id: string, scope: "user" | "global" = "user") => {
      setSwitching(true);
      try {
        const answer = await client.post<ActiveProvider>(
          `/api/v1/llm-providers/${encodeURIComponent(id)}/activate`,
          { scope },
        );
        setActiveId(answer.provider?.id ?? id);
        setError(null);
        void test(id);
        return true;
      } catch (err) {
        setError(errorMessage(err));
        return false;
      } finally {
        setSwitching(false);
      }
    },
    [client, test],
  );

  const create = useCallback(
    async (body: ProviderCreate) => {
      const created = await client.post<ProviderPublic>("/api/v1/llm-providers", body);
      await reload();
      return created;
    },
    [client, reload],
  );

  const update = useCallback(
    async (id: string, body: ProviderUpdate) => {
      const updated = await client.patch<ProviderPublic>(
        `/api/v1/llm-providers/${encodeURIComponent(id)}`,
        body,
      );
      await reload();
      return updated;
    },
    [client, reload],
  );

  const remove = useCallback(
    async (id: string) => {
      await client.del(`/api/v1/llm-providers/${encodeURIComponent(id)}`);
      await reload();
    },
    [client, reload],
  );

  const active = providers.find((p) => p.id === activeId) ?? null;
  return {
    providers,
    health,
    activeId,
    active,
    error,
    switching,
    reload,
    refreshStatus,
    test,
    activate,
    create,
    update,
    remove,
  };
}
