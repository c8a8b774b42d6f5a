/** The quota API: the caller's own quotas and their use; for admins every quota and its CRUD. */
import type { ApiClient } from "../../api/client";
import type { KeyPublic, QuotaCreate, QuotaPublic, QuotaUsage, UserPublic } from "../../api/types";

const BASE = "/api/v1/llm-providers";

export const fetchMyQuotas = (client: ApiClient) => client.get<QuotaUsage[]>(`${BASE}/quota-usage`);
export const fetchQuotas = (client: ApiClient) => client.get<QuotaPublic[]>(`${BASE}/quotas`);
export const createQuota = (client: ApiClient, body: QuotaCreate) => client.post<QuotaPublic>(`${BASE}/quotas`, body);
export const updateQuota = (client: ApiClient, id: string, limit: number) =>
  client.patch<QuotaPublic>(`${BASE}/quotas/${id}`, { limit });
export const deleteQuota = (client: ApiClient, id: string) => client.del<QuotaPublic>(`${BASE}/quotas/${id}`);
export const fetchUsers = (client: ApiClient) => client.get<UserPublic[]>("/api/v1/users");
export const fetchKeys = (client: ApiClient) => client.get<KeyPublic[]>("/api/v1/keys");

const UNITS: Record<string, string> = { tokens: "tokens", gpu_seconds: "GPU-seconds", requests: "requests" };

/** "1,200 / 5,000 tokens per day" */
export function describeQuota(q: { metric: string; period: string; limit: number; used?: number | null }): string {
  const fmt = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 2 });
  const used = q.used == null ? "?" : fmt(q.used);
  return `${used} / ${fmt(q.limit)} ${UNITS[q.metric] ?? q.metric} per ${q.period}`;
}

/** The share used, 0..100 (capped), for the meter. */
export function percentUsed(used: number | null | undefined, limit: number): number {
  if (used == null || limit <= 0) return 0;
  return Math.min(100, Math.round((used / limit) * 100));
}
