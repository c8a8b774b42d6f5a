/**
 * A model's GPU slots and queue on a shared server (`GET /api/v1/llm-providers/capacity`,
 * README "Sharing GPUs"): "2 of 4 slots busy · 3 waiting (about 10 s)". Nothing is shown for a
 * model the gateway has not admitted a request to yet.
 */
import { useQuery } from "@tanstack/react-query";
import type { ApiClient } from "../../api/client";
import type { components } from "../../api/schema";

export type ModelCapacityRow = components["schemas"]["ModelCapacity"];

export const CAPACITY_REFRESH_MS = 5_000;

export function capacityText(row: ModelCapacityRow): string {
  const busy = `${row.in_use} of ${row.slots} slot${row.slots === 1 ? "" : "s"} busy`;
  if (!row.queued) return busy;
  const wait = row.estimate_seconds ? ` (about ${Math.round(row.estimate_seconds)} s)` : "";
  return `${busy} · ${row.queued} waiting${wait}`;
}

export function ModelCapacity({
  client,
  provider,
  model,
  refreshMs = CAPACITY_REFRESH_MS,
}: {
  client: ApiClient;
  provider: string | undefined;
  model: string;
  refreshMs?: number;
}) {
  const query = useQuery({
    queryKey: ["capacity"],
    queryFn: () => client.get<ModelCapacityRow[]>("/api/v1/llm-providers/capacity"),
    refetchInterval: refreshMs,
    retry: false,
  });
  const row = query.data?.find((r) => r.model === model && (!provider || r.provider === provider));
  if (!row) return null;
  return (
    <span className="model-capacity" data-testid="model-capacity" title="GPU slots of this model">
      {capacityText(row)}
    </span>
  );
}
