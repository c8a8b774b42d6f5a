/**
 * A stacked bar chart in plain SVG: one bar per day, one colour per model. Colours come from
 * CSS classes (`series-N`), sizes from SVG attributes: nothing inline, so it runs under a
 * strict Content-Security-Policy. Each bar segment has a <title> tooltip.
 *
 * The drawing is as wide as its box in CSS pixels (measured), never stretched: stretched
 * text was squeezed on phones, and the day labels are spaced by the room they need.
 */
import { useEffect, useRef, useState, type RefObject } from "react";
import type { UsageGroup } from "../../api/types";

export type UsageMetric = "tokens" | "requests";

export interface Series {
  name: string;
  values: number[];
}

export const MAX_SERIES = 6;
const DEFAULT_WIDTH = 640;
const HEIGHT = 220;
const PAD = { left: 48, right: 8, top: 10, bottom: 28 };
/** Room per day label ("11-28" at 11 px, plus a gap). */
const LABEL_PX = 46;

/** The element's content width in CSS pixels, following resizes. */
export function useWidth(ref: RefObject<HTMLElement | null>, fallback: number): number {
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => {
      const w = Math.floor(el.getBoundingClientRect().width);
      if (w > 0) setWidth(w);
    };
    measure();
    if (typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

/** Every how many days a label fits in `plotWidth` pixels. */
export function labelStep(days: number, plotWidth: number): number {
  const fits = Math.max(1, Math.floor(plotWidth / LABEL_PX));
  return Math.max(1, Math.ceil(days / fits));
}

function metricOf(group: UsageGroup, metric: UsageMetric): number {
  return metric === "tokens" ? group.total_tokens : group.requests;
}

/** Groups (day × model) → one series per model over `days`; the smallest fold into "other". */
export function toSeries(groups: UsageGroup[], days: string[], metric: UsageMetric): Series[] {
  const index = new Map(days.map((d, i) => [d, i]));
  const byModel = new Map<string, number[]>();
  for (const group of groups) {
    const i = index.get(group.day ?? "");
    if (i === undefined) continue;
    const name = group.model ?? "(unknown)";
    const values = byModel.get(name) ?? new Array<number>(days.length).fill(0);
    values[i] += metricOf(group, metric);
    byModel.set(name, values);
  }
  const total = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const sorted = [...byModel.entries()].sort((a, b) => total(b[1]) - total(a[1]) || a[0].localeCompare(b[0]));
  const kept = sorted.slice(0, MAX_SERIES - 1).map(([name, values]) => ({ name, values }));
  const rest = sorted.slice(MAX_SERIES - 1);
  if (rest.length === 1) kept.push({ name: rest[0][0], values: rest[0][1] });
  else if (rest.length > 1)
    kept.push({ name: "other", values: days.map((_, i) => rest.reduce((sum, [, v]) => sum + v[i], 0)) });
  return kept;
}

/** A round axis maximum at or above `value` (1, 2, 5 × 10^n). */
export function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

export function formatCount(value: number): string {
  if (value >= 1_000_000) return `${(value / 1_000_000).toFixed(1)}M`;
  if (value >= 10_000) return `${Math.round(value / 1000)}k`;
  if (value >= 1000) return `${(value / 1000).toFixed(1)}k`;
  return String(value);
}

export function UsageChart({
  days,
  series,
  metric,
}: {
  days: string[];
  series: Series[];
  metric: UsageMetric;
}) {
  const box = useRef<HTMLElement>(null);
  const width = useWidth(box, DEFAULT_WIDTH);
  const totals = days.map((_, i) => series.reduce((sum, s) => sum + s.values[i], 0));
  const top = niceMax(Math.max(0, ...totals));
  const plotW = width - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, days.length);
  const barW = Math.max(2, slot * 0.7);
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;
  const labelEvery = labelStep(days.length, plotW);
  const unit = metric === "tokens" ? "tokens" : "requests";
  const label = `${unit} per day and model, ${days[0] ?? ""} to ${days[days.length - 1] ?? ""}`;

  return (
    <figure className="usage-chart" ref={box}>
      <svg viewBox={`0 0 ${width} ${HEIGHT}`} width={width} height={HEIGHT} role="img" aria-label={label}>
        {[0, 0.5, 1].map((f) => (
          <g key={f} className="usage-grid">
            <line x1={PAD.left} x2={width - PAD.right} y1={y(top * f)} y2={y(top * f)} />
            <text x={PAD.left - 6} y={y(top * f) + 4} textAnchor="end">
              {formatCount(top * f)}
            </text>
          </g>
        ))}
        {days.map((day, i) => {
          let base = 0;
          const x = PAD.left + i * slot + (slot - barW) / 2;
          return (
            <g key={day} data-day={day}>
              {series.map((s, k) => {
                const v = s.values[i];
                if (!v) return null;
                const rect = (
                  <rect
                    key={s.name}
                    className={`usage-bar series-${k}`}
                    x={x}
                    width={barW}
                    y={y(base + v)}
                    height={y(base) - y(base + v)}
                  >
                    <title>{`${day} · ${s.name}: ${v} ${unit}`}</title>
                  </rect>
                );
                base += v;
                return rect;
              })}
              {i % labelEvery === 0 && (
                <text className="usage-axis" x={x + barW / 2} y={HEIGHT - 8} textAnchor="middle">
                  {day.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul className="usage-legend">
          {series.map((s, k) => (
            <li key={s.name}>
              <svg viewBox="0 0 10 10" className="usage-swatch" aria-hidden="true">
                <rect className={`series-${k}`} width="10" height="10" rx="2" />
              </svg>
              {s.name} <span className="muted">{formatCount(s.values.reduce((a, b) => a + b, 0))}</span>
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}
