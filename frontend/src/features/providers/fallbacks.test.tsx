import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Me, ProviderCreate, ProviderUpdate } from "../../api/types";
import { providerRecord } from "../../test/fakes";
import { fallbacksBody, fallbacksDraft, MAX_FALLBACKS } from "./FallbackFields";
import { ProvidersDialog } from "./ProvidersDialog";

const ADMIN: Me = { key_id: "k1", name: "admin", role: "admin", user_id: "u1" };

const BACKUP = providerRecord("p2", "backup");
const CLOUD = providerRecord("p3", "cloud");
// Stored as written: one by name, one on this provider with another model.
const PRIMARY = providerRecord("p1", "primary", {
  fallbacks: [
    { provider: "backup", model: null },
    { provider: null, model: "qwen2.5-3b-instruct" },
  ],
});

function dialog(providers = [PRIMARY, BACKUP, CLOUD]) {
  const update = vi.fn(async (_id: string, _body: ProviderUpdate) => PRIMARY);
  const create = vi.fn(async (_body: ProviderCreate) => PRIMARY);
  const api = {
    providers,
    health: {},
    activeId: "p1",
    test: vi.fn(),
    activate: vi.fn(),
    create,
    update,
    remove: vi.fn(),
  };
  render(<ProvidersDialog me={ADMIN} api={api} onClose={() => {}} />);
  return { update, create };
}

const row = (n: number) => within(screen.getByRole("group", { name: `Fallback ${n}` }));

describe("provider fallbacks", () => {
  it("round-trips the stored list and drops a row that names nothing", () => {
    const rows = fallbacksDraft(PRIMARY);
    expect(rows).toEqual([
      { provider: "backup", model: "" },
      { provider: "", model: "qwen2.5-3b-instruct" },
    ]);
    expect(fallbacksBody([...rows, { provider: "", model: "  " }])).toEqual([
      { provider: "backup", model: null },
      { provider: null, model: "qwen2.5-3b-instruct" },
    ]);
    expect(fallbacksDraft(null)).toEqual([]);
    expect(fallbacksBody([])).toEqual([]);
  });

  it("shows a provider's fallbacks on edit and saves them edited, in the new order", async () => {
    const { update } = dialog();
    await userEvent.click(screen.getAllByRole("button", { name: "Edit" })[0]);
    // The stored reference (a name) is kept; the provider itself is not offered.
    expect(row(1).getByLabelText("Fallback provider")).toHaveValue("backup");
    expect(row(1).getByRole("option", { name: "backup" })).toBeInTheDocument();
    expect(row(1).queryByRole("option", { name: "primary" })).toBeNull();
    expect(row(2).getByLabelText("Fallback provider")).toHaveValue("");
    expect(row(2).getByLabelText("Fallback model")).toHaveValue("qwen2.5-3b-instruct");

    await userEvent.click(screen.getByRole("button", { name: "Add a fallback" }));
    await userEvent.selectOptions(row(3).getByLabelText("Fallback provider"), "cloud");
    await userEvent.type(row(3).getByLabelText("Fallback model"), "gpt-4.1-mini");
    await userEvent.click(screen.getByRole("button", { name: "Try fallback 2 earlier" }));
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(update).toHaveBeenCalledTimes(1);
    expect(update.mock.calls[0][1].fallbacks).toEqual([
      { provider: null, model: "qwen2.5-3b-instruct" },
      { provider: "backup", model: null },
      { provider: "p3", model: "gpt-4.1-mini" },
    ]);

    // Removing them all clears the list ([] is what the API takes for "none").
    await userEvent.click(screen.getAllByRole("button", { name: "Edit" })[0]);
    await userEvent.click(screen.getByRole("button", { name: "Remove fallback 2" }));
    await userEvent.click(screen.getByRole("button", { name: "Remove fallback 1" }));
    expect(screen.queryByRole("group", { name: "Fallback 1" })).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(update.mock.calls[1][1].fallbacks).toEqual([]);
  });

  it("sends the fallbacks of a new provider, keeps one it cannot see, and stops at the limit", async () => {
    const hidden = providerRecord("p1", "primary", { fallbacks: [{ provider: "someone-elses", model: null }] });
    const { create, update } = dialog([hidden, BACKUP]);
    await userEvent.click(screen.getAllByRole("button", { name: "Edit" })[0]);
    expect(row(1).getByRole("option", { name: "someone-elses (not visible)" })).toBeInTheDocument();
    for (let i = 1; i < MAX_FALLBACKS; i++) await userEvent.click(screen.getByRole("button", { name: "Add a fallback" }));
    expect(screen.getByRole("button", { name: "Add a fallback" })).toBeDisabled();
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    const saved = update.mock.calls[0][1].fallbacks ?? [];
    expect(saved[0]).toEqual({ provider: "someone-elses", model: null });
    expect(saved).toHaveLength(MAX_FALLBACKS); // a new row names the first other provider

    await userEvent.click(screen.getByRole("button", { name: "Add provider" }));
    await userEvent.type(screen.getByLabelText("Name"), "fresh");
    await userEvent.click(screen.getByRole("button", { name: "Add a fallback" }));
    expect(row(1).getByLabelText("Fallback provider")).toHaveValue("p1");
    await userEvent.selectOptions(row(1).getByLabelText("Fallback provider"), "backup");
    await userEvent.click(within(screen.getByRole("form", { name: "Add provider" })).getByRole("button", { name: "Add provider" }));
    expect(create).toHaveBeenCalledTimes(1);
    expect(create.mock.calls[0][0].fallbacks).toEqual([{ provider: "p2", model: null }]);
  });
});
