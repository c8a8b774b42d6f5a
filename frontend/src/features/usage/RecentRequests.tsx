/** The latest requests: a small SVG latency chart (duration and TTFT) and a table. */
import type { UsageRecord } from "../../api/types";
import { formatMs } from "../../ui/format";
import { formatGpu } from "./AccountingTable";
import { niceMax } from "./UsageChart";

const WIDTH = 640;
const HEIGHT = 90;

function points(values: (number | null)[], top: number): string {
  const step = WIDTH / Math.max(1, values.length - 1);
  return values
    .map((v, i) => (v == null ? null : `${(i * step).toFixed(1)},${(HEIGHT - (v / top) * (HEIGHT - 4) - 2).toFixed(1)}`))
    .filter((p): p is string => p !== null)
    .join(" ");
}

export function LatencyChart({ records }: { records: UsageRecord[] }) {
  const oldestFirst = [...records].reverse();
  const durations = oldestFirst.map((r) => r.duration_ms);
  const ttfts = oldestFirst.map((r) => r.ttft_ms);
  const top = niceMax(Math.max(0, ...durations.map((d) => d ?? 0)));
  return (
    <svg
      className="latency-chart"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={`Duration and time to first token of the last ${records.length} requests, up to ${formatMs(top)}`}
    >
      <polyline className="latency-duration" points={points(durations, top)} />
      <polyline className="latency-ttft" points={points(ttfts, top)} />
    </svg>
  );
}

export function RecentRequests({ records }: { records: UsageRecord[] }) {
  if (!records.length) return <p className="muted">No requests yet.</p>;
  return (
    <>
      <LatencyChart records={records} />
      <p className="usage-key muted small">
        <span className="key-duration">duration</span> <span className="key-ttft">time to first token</span>
      </p>
      <div className="usage-table-wrap">
        <table className="usage-table">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Model</th>
              <th scope="col">Endpoint</th>
              <th scope="col">Status</th>
              <th scope="col">TTFT</th>
              <th scope="col">Duration</th>
              <th scope="col">Tokens in/out</th>
              <th scope="col">GPU time</th>
            </tr>
          </thead>
          <tbody>
            {records.map((r) => (
              <tr key={r.id}>
                <td>{new Date(r.at).toLocaleTimeString()}</td>
                <td>{r.model ?? "–"}</td>
                <td>
                  {r.endpoint}
                  {r.streamed ? " (stream)" : ""}
                </td>
                <td className={r.status === "ok" ? "" : "usage-status-bad"}>{r.status}</td>
                <td>{formatMs(r.ttft_ms)}</td>
                <td>{formatMs(r.duration_ms)}</td>
                <td>
                  {r.prompt_tokens}/{r.completion_tokens}
                  {r.estimated ? "≈" : ""}
                </td>
                <td>{formatGpu(r.gpu_seconds)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
