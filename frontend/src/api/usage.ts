/** The usage API: totals per day and model for the chart, and the latest requests. */
import type { ApiClient } from "./client";

export interface UsageTotals {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  errors: number;
  cancelled: number;
  avg_ttft_ms: number | null;
  avg_duration_ms: number | null;
}

export interface UsageGroup extends UsageTotals {
  day?: string | null;
  model?: string | null;
  provider?: string | null;
  key?: string | null;
  key_name?: string | null;
}

export interface UsageReport {
  group_by: string[];
  since: string;
  until: string;
  groups: UsageGroup[];
  totals: UsageTotals;
}

export interface UsageRecord {
  id: number;
  at: string;
  provider: string | null;
  model: string | null;
  endpoint: string;
  streamed: boolean;
  status: string;
  prompt_tokens: number;
  completion_tokens: number;
  estimated: boolean;
  ttft_ms: number | null;
  duration_ms: number | null;
}

/** Totals per UTC day and model over the last `days` days. */
export function fetchDailyUsage(client: ApiClient, days: number, now: Date = new Date()): Promise<UsageReport> {
  const since = new Date(now.getTime() - days * 86_400_000);
  since.setUTCHours(0, 0, 0, 0);
  const query = new URLSearchParams({ group_by: "day,model", since: since.toISOString() });
  return client.get<UsageReport>(`/api/v1/usage?${query}`);
}

export async function fetchRecentUsage(client: ApiClient, limit = 50): Promise<UsageRecord[]> {
  const answer = await client.get<{ items: UsageRecord[] }>(`/api/v1/usage/recent?limit=${limit}`);
  return answer.items;
}

/** Every UTC day from `since` to `until` as YYYY-MM-DD (the chart's x axis, gaps included). */
export function daysBetween(since: string, until: string): string[] {
  const days: string[] = [];
  const day = new Date(since);
  day.setUTCHours(0, 0, 0, 0);
  const end = new Date(until).getTime();
  while (day.getTime() < end && days.length < 400) {
    days.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return days;
}
