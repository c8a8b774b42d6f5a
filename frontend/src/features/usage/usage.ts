/** The usage API: totals per day and model for the chart, per user, model and day for the
 * accounting table (and its CSV), and the latest requests. */
import type { ApiClient } from "../../api/client";
import type { UsageRecord, UsageReport } from "../../api/types";

function sinceDaysAgo(days: number, now: Date): string {
  const since = new Date(now.getTime() - days * 86_400_000);
  since.setUTCHours(0, 0, 0, 0);
  return since.toISOString();
}

/** Totals per UTC day and model over the last `days` days. */
export function fetchDailyUsage(client: ApiClient, days: number, now: Date = new Date()): Promise<UsageReport> {
  const query = new URLSearchParams({ group_by: "day,model", since: sinceDaysAgo(days, now) });
  return client.get<UsageReport>(`/api/v1/usage?${query}`);
}

/** The accounting grouping: an admin gets everyone's rows, a user only their own. */
export const ACCOUNTING_GROUP_BY = "user,model,day";

export function accountingQuery(days: number, now: Date = new Date(), format?: "csv"): string {
  const query = new URLSearchParams({ group_by: ACCOUNTING_GROUP_BY, since: sinceDaysAgo(days, now) });
  if (format) query.set("format", format);
  return `/api/v1/usage?${query}`;
}

export function fetchAccounting(client: ApiClient, days: number, now: Date = new Date()): Promise<UsageReport> {
  return client.get<UsageReport>(accountingQuery(days, now));
}

/** The accounting table as a CSV file (fetched with the key, then saved from a blob URL). */
export async function downloadAccountingCsv(client: ApiClient, days: number): Promise<void> {
  const response = await fetch(`${client.baseUrl}${accountingQuery(days, new Date(), "csv")}`, {
    headers: { Authorization: `Bearer ${client.apiKey}`, Accept: "text/csv" },
  });
  if (!response.ok) throw new Error(`the CSV export failed (${response.status})`);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = `usage-${days}d.csv`;
  link.click();
  URL.revokeObjectURL(url);
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
