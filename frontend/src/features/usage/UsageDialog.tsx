/** The usage page (a dialog like Compare): tokens or requests per day and model, the accounting
 * table (user × model × day: GPU time, queue, energy, shadow cost; CSV), and latency. */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import type { ApiClient } from "../../api/client";
import type { Me } from "../../api/types";
import { errorBody } from "../../api/client";
import { ErrorText, InlineError } from "../../ui/ErrorText";
import { formatMs } from "../../ui/format";
import { Modal } from "../../ui/Modal";
import { AccountingTable, formatEnergy, formatGpu, formatQueue, formatUsd } from "./AccountingTable";
import { daysBetween, downloadAccountingCsv, fetchAccounting, fetchDailyUsage, fetchRecentUsage } from "./usage";
import { QuotaPanel } from "./QuotaPanel";
import { RecentRequests } from "./RecentRequests";
import { formatCount, toSeries, UsageChart, type UsageMetric } from "./UsageChart";
import "./usage.css";

const RANGES = [7, 30, 90] as const;

export function UsageDialog({ client, onClose, me }: { client: ApiClient; onClose: () => void; me?: Me }) {
  const [days, setDays] = useState<(typeof RANGES)[number]>(30);
  const [metric, setMetric] = useState<UsageMetric>("tokens");
  const daily = useQuery({
    queryKey: ["usage", "daily", days],
    queryFn: () => fetchDailyUsage(client, days),
    placeholderData: keepPreviousData,
  });
  const accounting = useQuery({
    queryKey: ["usage", "accounting", days],
    queryFn: () => fetchAccounting(client, days),
    placeholderData: keepPreviousData,
  });
  const latest = useQuery({ queryKey: ["usage", "recent"], queryFn: () => fetchRecentUsage(client, 50) });
  const [exportError, setExportError] = useState<string | null>(null);
  const report = daily.data ?? null;
  const recent = latest.data ?? [];
  const failure = daily.error ?? accounting.error ?? latest.error;
  const error = failure ? errorBody(failure) : null;
  const exportCsv = () => {
    setExportError(null);
    downloadAccountingCsv(client, days).catch((err: unknown) => setExportError(String(err)));
  };

  const axis = useMemo(() => (report ? daysBetween(report.since, report.until) : []), [report]);
  const series = useMemo(() => (report ? toSeries(report.groups, axis, metric) : []), [report, axis, metric]);
  const totals = report?.totals;

  return (
    <Modal title="Usage" onClose={onClose} wide>
      <div className="usage-controls">
        <div role="group" aria-label="Measure">
          {(["tokens", "requests"] as const).map((m) => (
            <button
              key={m}
              type="button"
              className={`ghost small${metric === m ? " pressed" : ""}`}
              aria-pressed={metric === m}
              onClick={() => setMetric(m)}
            >
              {m === "tokens" ? "Tokens" : "Requests"}
            </button>
          ))}
        </div>
        <label>
          Range{" "}
          <select aria-label="Range" value={days} onChange={(e) => setDays(Number(e.target.value) as (typeof RANGES)[number])}>
            {RANGES.map((r) => (
              <option key={r} value={r}>
                last {r} days
              </option>
            ))}
          </select>
        </label>
      </div>
      {error && <ErrorText error={error} prefix="Could not load the usage:" />}
      {!report && !error && (
        <p className="muted" role="status">
          Loading usage…
        </p>
      )}
      {totals && (
        <dl className="usage-totals">
          {(
            [
              ["Requests", formatCount(totals.requests)],
              ["Tokens in / out", `${formatCount(totals.prompt_tokens)} / ${formatCount(totals.completion_tokens)}`],
              ["Errors", totals.errors],
              ["Avg TTFT", formatMs(totals.avg_ttft_ms)],
              ["Avg duration", formatMs(totals.avg_duration_ms)],
              ["GPU time", formatGpu(totals.gpu_seconds)],
              ["Queue wait", formatQueue(totals.queue_ms)],
              ["Energy", formatEnergy(totals.energy_wh)],
              ["Shadow cost", formatUsd(totals.shadow_cost)],
            ] as const
          ).map(([term, value]) => (
            <div key={term}>
              <dt>{term}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      )}
      {report && <UsageChart days={axis} series={series} metric={metric} />}
      {accounting.data && (
        <section aria-labelledby="usage-accounting-title">
          <div className="usage-section-head">
            <h3 id="usage-accounting-title">By user, model and day</h3>
            <button type="button" className="ghost small" onClick={exportCsv}>
              Download CSV
            </button>
          </div>
          <InlineError message={exportError} />
          <AccountingTable groups={accounting.data.groups} />
        </section>
      )}
      <QuotaPanel client={client} me={me} />
      {report && (
        <section aria-labelledby="usage-recent-title">
          <h3 id="usage-recent-title">Recent requests</h3>
          <RecentRequests records={recent} />
        </section>
      )}
    </Modal>
  );
}
