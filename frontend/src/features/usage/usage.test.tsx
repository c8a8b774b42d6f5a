import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { createClient } from "../../api/client";
import type { UsageGroup } from "../../api/types";
import { mockFetch } from "../../test/fakes";
import { renderWithQuery } from "../../test/render";
import { AccountingTable, formatEnergy, formatGpu, formatUsd } from "./AccountingTable";
import { daysBetween } from "./usage";
import { labelStep, niceMax, toSeries, UsageChart } from "./UsageChart";
import { UsageDialog } from "./UsageDialog";

function group(day: string, model: string, total: number, requests = 1): UsageGroup {
  return {
    day,
    model,
    requests,
    prompt_tokens: total / 2,
    completion_tokens: total / 2,
    total_tokens: total,
    errors: 0,
    cancelled: 0,
    avg_ttft_ms: 120,
    avg_duration_ms: 900,
    gpu_seconds: 2,
    queue_ms: null,
    energy_wh: null,
    shadow_cost: null,
  };
}

const DAYS = ["2026-11-26", "2026-11-27", "2026-11-28"];
const GROUPS = [group("2026-11-26", "qwen", 100), group("2026-11-28", "qwen", 40), group("2026-11-28", "llama", 60, 3)];

describe("toSeries", () => {
  it("makes one series per model over every day, biggest first, gaps as zero", () => {
    expect(toSeries(GROUPS, DAYS, "tokens")).toEqual([
      { name: "qwen", values: [100, 0, 40] },
      { name: "llama", values: [0, 0, 60] },
    ]);
    expect(toSeries(GROUPS, DAYS, "requests")[0]).toEqual({ name: "llama", values: [0, 0, 3] });
  });

  it("folds the smallest models into 'other'", () => {
    const many = ["a", "b", "c", "d", "e", "f", "g"].map((m, i) => group("2026-11-26", m, 70 - i * 10));
    const series = toSeries(many, DAYS, "tokens");
    expect(series.map((s) => s.name)).toEqual(["a", "b", "c", "d", "e", "other"]);
    expect(series[5].values[0]).toBe(20 + 10);
  });

  it("rounds the axis and lists the days of a range", () => {
    expect([niceMax(0), niceMax(7), niceMax(140), niceMax(1000)]).toEqual([1, 10, 200, 1000]);
    expect(daysBetween("2026-11-26T10:00:00Z", "2026-11-28T09:00:00Z")).toEqual(DAYS);
  });
});

describe("UsageChart", () => {
  it("draws a stacked bar segment per model and day with a tooltip, and a legend", () => {
    const { container } = render(<UsageChart days={DAYS} series={toSeries(GROUPS, DAYS, "tokens")} metric="tokens" />);
    const chart = screen.getByRole("img", { name: /tokens per day and model/ });
    const bars = chart.querySelectorAll("rect.usage-bar");
    expect(bars).toHaveLength(3);
    expect(chart.querySelector('[data-day="2026-11-28"]')?.querySelectorAll("rect")).toHaveLength(2);
    expect(within(chart).getByText("2026-11-28 · llama: 60 tokens")).toBeInTheDocument();
    // Heights are proportional: 100 tokens fill the 100-token axis, 40 + 60 as well.
    const height = (el: Element) => Number(el.getAttribute("height"));
    expect(height(bars[0])).toBeCloseTo(height(bars[1]) + height(bars[2]));
    expect(screen.getByText("qwen")).toBeInTheDocument();
    // Nothing inline: colours come from classes (a strict CSP allows no style attributes).
    expect(container.querySelector("[style]")).toBeNull();
    // Drawn at its own size: never stretched (stretched text was squeezed on phones).
    expect(chart.getAttribute("preserveAspectRatio")).toBeNull();
    expect(chart.getAttribute("viewBox")).toBe(`0 0 ${chart.getAttribute("width")} 220`);
  });

  it("spaces the day labels by the room they need", () => {
    expect(labelStep(7, 584)).toBe(1);
    expect(labelStep(30, 584)).toBe(3);
    expect(labelStep(30, 290)).toBe(5); // a phone: 6 labels of 30 days
    expect(labelStep(90, 290)).toBe(15);
  });
});

describe("UsageDialog", () => {
  it("loads the report and recent requests, and switches to requests", async () => {
    const { calls } = mockFetch({
      "GET /api/v1/usage": (call) => ({
        data: call.path.includes("group_by=user%2Cmodel%2Cday")
          ? {
              group_by: ["user", "model", "day"],
              since: "2026-11-26T00:00:00Z",
              until: "2026-11-28T12:00:00Z",
              groups: [ACCOUNTED],
              totals: { ...ACCOUNTED, user: undefined, model: undefined, day: undefined },
            }
          : {
          group_by: ["day", "model"],
          since: "2026-11-26T00:00:00Z",
          until: "2026-11-28T12:00:00Z",
          groups: GROUPS,
          totals: { ...group("", "", 200, 5), model: undefined, day: undefined },
        },
      }),
      "GET /api/v1/usage/recent": () => ({
        data: {
          items: [
            {
              id: 1,
              at: "2026-11-28T11:00:00Z",
              provider: "LMStudio Local",
              model: "qwen",
              endpoint: "/v1/chat/completions",
              streamed: true,
              status: "ok",
              prompt_tokens: 7,
              completion_tokens: 20,
              estimated: false,
              ttft_ms: 85,
              duration_ms: 1500,
            },
          ],
        },
      }),
    });
    const client = createClient({ apiKey: "bsk_test" });
    renderWithQuery(<UsageDialog client={client} onClose={() => {}} />);
    expect(await screen.findByRole("img", { name: /tokens per day/ })).toBeInTheDocument();
    expect(screen.getByText("85 ms")).toBeInTheDocument();
    expect(screen.getByText("1.50 s")).toBeInTheDocument();
    expect(calls.some((c) => c.path.startsWith("/api/v1/usage?group_by=day%2Cmodel&since="))).toBe(true);
    await userEvent.click(screen.getByRole("button", { name: "Requests" }));
    expect(screen.getByRole("img", { name: /requests per day/ })).toBeInTheDocument();
    // The accounting table: user × model × day with GPU time, energy and shadow cost.
    const table = await screen.findByRole("table", { name: "Usage by user, model and day" });
    expect(within(table).getByText("alice")).toBeInTheDocument();
    expect(within(table).getByText("12.5 s")).toBeInTheDocument();
    expect(within(table).getByText("0.250 Wh")).toBeInTheDocument();
    expect(within(table).getByText("$0.0042")).toBeInTheDocument();
    expect(calls.some((c) => c.path.startsWith("/api/v1/usage?group_by=user%2Cmodel%2Cday&since="))).toBe(true);
    expect(screen.getByRole("button", { name: "Download CSV" })).toBeInTheDocument();
  });
});

const ACCOUNTED: UsageGroup = {
  ...group("2026-11-28", "qwen", 300, 4),
  user: "u1",
  user_name: "alice",
  gpu_seconds: 12.5,
  queue_ms: 800,
  energy_wh: 0.25,
  shadow_cost: 0.0042,
};

describe("AccountingTable", () => {
  it("formats GPU time, energy and cost, with a dash where nothing was declared", () => {
    expect([formatGpu(3.456), formatGpu(90), formatGpu(7200)]).toEqual(["3.46 s", "1.5 min", "2.0 h"]);
    expect([formatEnergy(null), formatEnergy(0.5), formatEnergy(2500)]).toEqual(["–", "0.500 Wh", "2.50 kWh"]);
    expect([formatUsd(null), formatUsd(0.00421), formatUsd(12.3)]).toEqual(["–", "$0.0042", "$12.30"]);
    render(<AccountingTable groups={[ACCOUNTED, { ...ACCOUNTED, day: "2026-11-27", energy_wh: null }]} />);
    const rows = screen.getAllByRole("row");
    expect(rows[1]).toHaveTextContent("2026-11-28"); // newest day first
    expect(rows[2]).toHaveTextContent("–");
  });
});
