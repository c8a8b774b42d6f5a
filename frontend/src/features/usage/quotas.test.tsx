import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { createClient } from "../../api/client";
import type { Me } from "../../api/types";
import { mockFetch } from "../../test/fakes";
import { renderWithQuery } from "../../test/render";
import { QuotaPanel } from "./QuotaPanel";
import { describeQuota, percentUsed } from "./quotas";

const USER: Me = { user_id: "u1", name: "alice", role: "user", key_id: "k1" };
const ADMIN: Me = { user_id: "a1", name: "admin", role: "admin", key_id: "k0" };
const MINE = {
  id: "q1",
  subject: "user",
  metric: "tokens",
  period: "day",
  limit: 1000,
  used: 850,
  remaining: 150,
  resets_at: "2026-12-03T00:00:00Z",
};

describe("quota helpers", () => {
  it("describes a quota and caps the meter", () => {
    expect(describeQuota({ metric: "gpu_seconds", period: "month", limit: 3600, used: 12.5 })).toBe(
      "12.5 / 3,600 GPU-seconds per month",
    );
    expect(percentUsed(850, 1000)).toBe(85);
    expect(percentUsed(5000, 1000)).toBe(100);
    expect(percentUsed(null, 1000)).toBe(0);
  });
});

describe("QuotaPanel", () => {
  it("shows a user their own quota and its use, and no admin controls", async () => {
    const { calls } = mockFetch({ "GET /api/v1/llm-providers/quota-usage": () => ({ data: [MINE] }) });
    renderWithQuery(<QuotaPanel client={createClient({ apiKey: "bsk_test" })} me={USER} />);
    const list = await screen.findByRole("list", { name: "Your quotas" });
    expect(within(list).getByText(/850 \/ 1,000 tokens per day/)).toBeInTheDocument();
    expect(within(list).getByText("resets 2026-12-03 00:00 UTC")).toBeInTheDocument();
    expect(screen.getByRole("meter", { name: "tokens per day used" })).toHaveAttribute("value", "85");
    expect(screen.queryByRole("form", { name: "Add a quota" })).toBeNull();
    expect(calls.some((c) => c.path === "/api/v1/llm-providers/quotas")).toBe(false);
  });

  it("lets an admin add, change and remove quotas", async () => {
    const quota = { ...MINE, subject_id: "u1", subject_name: "alice", created_at: MINE.resets_at, updated_at: MINE.resets_at };
    const { calls } = mockFetch({
      "GET /api/v1/llm-providers/quota-usage": () => ({ data: [] }),
      "GET /api/v1/llm-providers/quotas": () => ({ data: [quota] }),
      "POST /api/v1/llm-providers/quotas": () => ({ status: 201, data: quota }),
      "PATCH /api/v1/llm-providers/quotas/q1": () => ({ data: quota }),
      "DELETE /api/v1/llm-providers/quotas/q1": () => ({ data: quota }),
      "GET /api/v1/users": () => ({ data: [{ id: "u1", name: "alice", role: "user", created_at: MINE.resets_at }] }),
      "GET /api/v1/keys": () => ({ data: [] }),
    });
    renderWithQuery(<QuotaPanel client={createClient({ apiKey: "bsk_test" })} me={ADMIN} />);
    expect(await screen.findByText("No quota applies to you.")).toBeInTheDocument();
    expect(await screen.findByText("user: alice")).toBeInTheDocument();
    const form = screen.getByRole("form", { name: "Add a quota" });
    await userEvent.selectOptions(within(form).getByRole("combobox", { name: "Who" }), await within(form).findByRole("option", { name: "alice" }));
    await userEvent.selectOptions(within(form).getByRole("combobox", { name: "Metric" }), "requests");
    expect(within(form).queryByRole("option", { name: "per month" })).toBeNull(); // requests: per day only
    const limit = within(form).getByRole("spinbutton", { name: "Limit" });
    await userEvent.clear(limit);
    await userEvent.type(limit, "50");
    await userEvent.click(within(form).getByRole("button", { name: "Add quota" }));
    const posted = calls.find((c) => c.method === "POST");
    expect(posted?.body).toEqual({ subject: "user", subject_id: "u1", metric: "requests", period: "day", limit: 50 });
    const edit = screen.getByRole("spinbutton", { name: "Limit of alice tokens per day" });
    await userEvent.clear(edit);
    await userEvent.type(edit, "2000");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ limit: 2000 });
    await userEvent.click(screen.getByRole("button", { name: "Remove" }));
    expect(calls.some((c) => c.method === "DELETE" && c.path === "/api/v1/llm-providers/quotas/q1")).toBe(true);
  });
});
