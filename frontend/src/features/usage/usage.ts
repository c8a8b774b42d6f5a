/** The usage API: totals per day and model for the chart, and the latest requests. */
import type { ApiClient } from "../../api/client";
import type { UsageRecord, UsageReport } from "../../api/types";

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
