/** The usage page (a dialog like Compare): tokens or requests per day and model, and latency. */
import { useEffect, useMemo, useState } from "react";
import type { ApiClient } from "../../api/client";
import { errorMessage } from "../../api/client";
import { daysBetween, fetchDailyUsage, fetchRecentUsage, type UsageRecord, type UsageReport } from "../../api/usage";
import { Modal } from "../Modal";
import { RecentRequests, formatMs } from "./RecentRequests";
import { formatCount, toSeries, UsageChart, type UsageMetric } from "./UsageChart";
import "./usage.css";

const RANGES = [7, 30, 90] as const;

export function UsageDialog({ client, onClose }: { client: ApiClient; onClose: () => void }) {
  const [days, setDays] = useState<(typeof RANGES)[number]>(30);
  const [metric, setMetric] = useState<UsageMetric>("tokens");
  const [report, setReport] = useState<UsageReport | null>(null);
  const [recent, setRecent] = useState<UsageRecord[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    setError(null);
    Promise.all([fetchDailyUsage(client, days), fetchRecentUsage(client, 50)])
      .then(([daily, latest]) => {
        if (cancelled) return;
        setReport(daily);
        setRecent(latest);
      })
      .catch((err: unknown) => {
        if (!cancelled) setError(errorMessage(err));
      });
    return () => {
      cancelled = true;
    };
  }, [client, days]);

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
          <select value={days} onChange={(e) => setDays(Number(e.target.value) as (typeof RANGES)[number])}>
            {RANGES.map((r) => (
              <option key={r} value={r}>
                last {r} days
              </option>
            ))}
          </select>
        </label>
      </div>
      {error && (
        <p className="banner error" role="alert">
          {error}
        </p>
      )}
      {!report && !error && (
        <p className="muted" role="status">
          Loading usage…
        </p>
      )}
      {totals && (
        <dl className="usage-totals">
          <div>
            <dt>Requests</dt>
            <dd>{formatCount(totals.requests)}</dd>
          </div>
          <div>
            <dt>Tokens in / out</dt>
            <dd>
              {formatCount(totals.prompt_tokens)} / {formatCount(totals.completion_tokens)}
            </dd>
          </div>
          <div>
            <dt>Errors</dt>
            <dd>{totals.errors}</dd>
          </div>
          <div>
            <dt>Avg TTFT</dt>
            <dd>{formatMs(totals.avg_ttft_ms)}</dd>
          </div>
          <div>
            <dt>Avg duration</dt>
            <dd>{formatMs(totals.avg_duration_ms)}</dd>
          </div>
        </dl>
      )}
      {report && <UsageChart days={axis} series={series} metric={metric} />}
      {report && (
        <section aria-labelledby="usage-recent-title">
          <h3 id="usage-recent-title">Recent requests</h3>
          <RecentRequests records={recent} />
        </section>
      )}
    </Modal>
  );
}
