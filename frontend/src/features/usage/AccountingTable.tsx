/** The accounting view: usage per user, model and day with GPU time, queue wait, energy and
 * shadow cost (what the tokens would have cost at the declared cloud prices). */
import type { UsageGroup } from "../../api/types";
import { formatCount } from "./UsageChart";

/** GPU-seconds as seconds, minutes or hours. */
export function formatGpu(seconds: number | null | undefined): string {
  if (seconds == null) return "–";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** Watt-hours, or kWh from 1000 on; "–" when no provider declared its watts. */
export function formatEnergy(wh: number | null | undefined): string {
  if (wh == null) return "–";
  return wh >= 1000 ? `${(wh / 1000).toFixed(2)} kWh` : `${wh.toFixed(wh < 1 ? 3 : 1)} Wh`;
}

/** US dollars with enough digits for a fraction of a cent; "–" when no price was declared. */
export function formatUsd(usd: number | null | undefined): string {
  if (usd == null) return "–";
  return usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}

export function formatQueue(ms: number | null | undefined): string {
  if (ms == null) return "–";
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export function AccountingTable({ groups }: { groups: UsageGroup[] }) {
  if (!groups.length) return <p className="muted">No usage in this range.</p>;
  // Newest day first; within a day by user, then model (the API sorts by user, model, day).
  const rows = [...groups].sort(
    (a, b) =>
      (b.day ?? "").localeCompare(a.day ?? "") ||
      (a.user_name ?? a.user ?? "").localeCompare(b.user_name ?? b.user ?? "") ||
      (a.model ?? "").localeCompare(b.model ?? ""),
  );
  return (
    <div className="usage-table-wrap">
      <table className="usage-table" aria-label="Usage by user, model and day">
        <thead>
          <tr>
            <th scope="col">Day</th>
            <th scope="col">User</th>
            <th scope="col">Model</th>
            <th scope="col">Requests</th>
            <th scope="col">Tokens in/out</th>
            <th scope="col" title="each request's share of its instance's time">
              GPU time
            </th>
            <th scope="col" title="total wait for a GPU slot">
              Queue
            </th>
            <th scope="col">Energy</th>
            <th scope="col" title="what the tokens would have cost at the declared prices">
              Shadow cost
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((g) => (
            <tr key={`${g.day}|${g.user}|${g.model}`}>
              <td>{g.day}</td>
              <td>{g.user_name ?? g.user ?? "–"}</td>
              <td>{g.model ?? "–"}</td>
              <td>{formatCount(g.requests)}</td>
              <td>
                {formatCount(g.prompt_tokens)}/{formatCount(g.completion_tokens)}
              </td>
              <td>{formatGpu(g.gpu_seconds)}</td>
              <td>{formatQueue(g.queue_ms)}</td>
              <td>{formatEnergy(g.energy_wh)}</td>
              <td>{formatUsd(g.shadow_cost)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
