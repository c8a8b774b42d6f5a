/**
 * Providers as the UI shows them (TanStack Query): configs (`/llm-providers`), the caller's
 * active one (`/active`, `/activate`), reachability and model counts (`/models/all`, every
 * minute) and latency (`/{id}/test`).
 *
 * Health is whatever was learnt last: a poll, a test, or the outcome of any request that used
 * the provider (`report`: a chat that failed to connect makes it offline, a finished answer
 * online), so the status never contradicts what the user just saw.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState } from "react";
import type { ApiClient } from "../../api/client";
import { errorMessage } from "../../api/client";
import type {
  ActiveProvider,
  AllModelsAnswer,
  ProviderCreate,
  ProviderModels,
  ProviderPublic,
  ProviderTestResult,
  ProviderUpdate,
} from "../../api/types";

export type Health = "online" | "offline" | "stale" | "checking" | "unknown";

export interface ProviderHealth {
  health: Health;
  latencyMs: number | null;
  message: string | null;
  modelCount: number | null;
  /** When it was learnt (ms since the epoch): the newest source wins. */
  at: number;
}

export const REFRESH_MS = 60_000;
const UNKNOWN: ProviderHealth = { health: "unknown", latencyMs: null, message: null, modelCount: null, at: 0 };

const KEYS = {
  list: ["providers"] as const,
  active: ["providers", "active"] as const,
  status: ["providers", "status"] as const,
};

export function healthFromStatus(status: ProviderModels | undefined, at = Date.now()): ProviderHealth {
  if (!status) return UNKNOWN;
  const health: Health = status.status === "ok" ? "online" : status.status === "stale" ? "stale" : "offline";
  return {
    health,
    latencyMs: status.latency_ms ?? null,
    message: status.message ?? status.error?.message ?? null,
    modelCount: status.models?.length ?? null,
    at,
  };
}

export function healthFromTest(result: ProviderTestResult, at = Date.now()): ProviderHealth {
  return {
    health: result.ok ? "online" : "offline",
    latencyMs: result.latency_ms,
    message: result.message,
    modelCount: result.model_count ?? null,
    at,
  };
}

type Reports = Record<string, ProviderHealth>;

export function useProviders(client: ApiClient, refreshMs = REFRESH_MS) {
  const queryClient = useQueryClient();

  const list = useQuery({
    queryKey: KEYS.list,
    queryFn: () => client.get<ProviderPublic[]>("/api/v1/llm-providers"),
  });
  const active = useQuery({
    queryKey: KEYS.active,
    queryFn: () => client.get<ActiveProvider>("/api/v1/llm-providers/active"),
  });
  const status = useQuery({
    queryKey: KEYS.status,
    queryFn: () => client.get<AllModelsAnswer>("/api/v1/llm-providers/models/all"),
    refetchInterval: refreshMs,
  });
  // Health learnt from tests and from requests' outcomes (client-side, not server state).
  const [reports, setReports] = useState<Reports>({});

  /** undefined until `/active` answered; null = no provider at all. */
  const activeId: string | null | undefined = active.data
    ? (active.data.provider?.id ?? null)
    : active.isError
      ? null
      : undefined;

  const report = useCallback(
    (id: string, health: Omit<ProviderHealth, "at"> | ((old: ProviderHealth) => Omit<ProviderHealth, "at">)) => {
      setReports((old) => {
        const previous = old[id] ?? UNKNOWN;
        const next = typeof health === "function" ? health(previous) : health;
        return { ...old, [id]: { ...next, at: Date.now() } };
      });
    },
    [],
  );

  /** What a request that used the provider found out (see the module docstring). */
  const reportOutcome = useCallback(
    (id: string | null | undefined, ok: boolean, message: string | null = null) => {
      if (!id) return;
      report(id, (old) => ({
        health: ok ? "online" : "offline",
        latencyMs: ok ? old.latencyMs : null,
        message: ok ? null : message,
        modelCount: old.modelCount,
      }));
    },
    [report],
  );

  const test = useCallback(
    async (id: string): Promise<ProviderTestResult | null> => {
      report(id, (old) => ({ ...old, health: "checking" }));
      try {
        const result = await client.post<ProviderTestResult>(`/api/v1/llm-providers/${encodeURIComponent(id)}/test`);
        report(id, healthFromTest(result));
        return result;
      } catch (err) {
        report(id, { health: "offline", latencyMs: null, message: errorMessage(err), modelCount: null });
        return null;
      }
    },
    [client, report],
  );

  // Test the active provider when it becomes known, and then with every poll.
  useEffect(() => {
    if (!activeId) return;
    void test(activeId);
    const timer = setInterval(() => void test(activeId), refreshMs);
    return () => clearInterval(timer);
  }, [activeId, refreshMs, test]);

  const health = useMemo(() => {
    const out: Record<string, ProviderHealth> = {};
    const polledAt = status.dataUpdatedAt;
    for (const entry of status.data?.providers ?? []) out[entry.provider.id] = healthFromStatus(entry, polledAt);
    for (const [id, learnt] of Object.entries(reports)) {
      const polled = out[id];
      if (!polled || learnt.at >= polled.at || learnt.health === "checking") {
        out[id] = learnt.health === "checking" && polled ? { ...polled, health: "checking" } : learnt;
      } else if (polled.health === learnt.health && learnt.latencyMs != null) {
        // A cached list answers in ~0 ms; keep the measured round trip of the last test.
        out[id] = { ...polled, latencyMs: learnt.latencyMs };
      }
    }
    return out;
  }, [reports, status.data, status.dataUpdatedAt]);

  const invalidate = useCallback(
    () => queryClient.invalidateQueries({ queryKey: KEYS.list }),
    [queryClient],
  );

  const activation = useMutation({
    mutationFn: ({ id, scope }: { id: string; scope: "user" | "global" }) =>
      client.post<ActiveProvider>(`/api/v1/llm-providers/${encodeURIComponent(id)}/activate`, { scope }),
    onSuccess: (answer) => {
      if (answer.scope === "user" || !queryClient.getQueryData(KEYS.active)) queryClient.setQueryData(KEYS.active, answer);
      else void queryClient.invalidateQueries({ queryKey: KEYS.active });
    },
  });

  /** Switch the caller's provider (user scope) or everyone's default: takes effect at once. */
  const activate = useCallback(
    async (id: string, scope: "user" | "global" = "user") => {
      try {
        await activation.mutateAsync({ id, scope });
        return true;
      } catch {
        return false;
      }
    },
    [activation],
  );

  const create = useCallback(
    async (body: ProviderCreate) => {
      const created = await client.post<ProviderPublic>("/api/v1/llm-providers", body);
      await Promise.all([invalidate(), queryClient.invalidateQueries({ queryKey: KEYS.status })]);
      return created;
    },
    [client, invalidate, queryClient],
  );

  const update = useCallback(
    async (id: string, body: ProviderUpdate) => {
      const updated = await client.patch<ProviderPublic>(`/api/v1/llm-providers/${encodeURIComponent(id)}`, body);
      await Promise.all([invalidate(), queryClient.invalidateQueries({ queryKey: KEYS.active })]);
      return updated;
    },
    [client, invalidate, queryClient],
  );

  const remove = useCallback(
    async (id: string) => {
      await client.del(`/api/v1/llm-providers/${encodeURIComponent(id)}`);
      await Promise.all([invalidate(), queryClient.invalidateQueries({ queryKey: KEYS.active })]);
    },
    [client, invalidate, queryClient],
  );

  const providers = list.data ?? [];
  const error = list.error ?? active.error ?? activation.error;
  return {
    providers,
    health,
    activeId,
    active: providers.find((p) => p.id === activeId) ?? null,
    error: error ? errorMessage(error) : null,
    switching: activation.isPending,
    test,
    reportOutcome,
    activate,
    create,
    update,
    remove,
  };
}

export type ProvidersApi = ReturnType<typeof useProviders>;
