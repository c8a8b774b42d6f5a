import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Me, ProviderUpdate } from "../../api/types";
import { providerRecord } from "../../test/fakes";
import { accountingBody, accountingDraft } from "./AccountingFields";
import { ProvidersDialog } from "./ProvidersDialog";

const ADMIN: Me = { key_id: "k1", name: "admin", role: "admin", user_id: "u1" };

const PROVIDER = providerRecord("p1", "LMStudio Local", {
  base_url: "http://127.0.0.1:1234/v1",
  watts_per_instance: 350,
  model_prices: { qwen: { input_per_mtok: 0.5, output_per_mtok: 1.5 } },
});

describe("accounting fields", () => {
  it("round-trips the provider's watts and prices, and clears empty ones to null", () => {
    const draft = accountingDraft(PROVIDER);
    expect(draft).toEqual({ watts: "350", prices: [{ model: "qwen", input: "0.5", output: "1.5" }] });
    expect(accountingBody(draft)).toEqual({
      watts_per_instance: 350,
      model_prices: { qwen: { input_per_mtok: 0.5, output_per_mtok: 1.5 } },
    });
    expect(accountingBody({ watts: " ", prices: [{ model: "", input: "1", output: "1" }] })).toEqual({
      watts_per_instance: null,
      model_prices: null,
    });
  });

  it("saves a new price from the provider form and shows the server's refusal", async () => {
    const update = vi.fn(async (_id: string, _body: ProviderUpdate) => PROVIDER);
    const api = {
      providers: [PROVIDER],
      health: {},
      activeId: "p1",
      test: vi.fn(),
      activate: vi.fn(),
      create: vi.fn(),
      update,
      remove: vi.fn(),
    };
    render(<ProvidersDialog me={ADMIN} api={api} onClose={() => {}} />);
    await userEvent.click(screen.getByRole("button", { name: "Edit" }));
    const watts = screen.getByLabelText("Watts per instance");
    expect(watts).toHaveValue(350);
    await userEvent.clear(watts);
    await userEvent.type(watts, "420");
    await userEvent.click(screen.getByRole("button", { name: "Add a price" }));
    const models = screen.getAllByLabelText("Model id");
    await userEvent.type(models[1], "llama");
    await userEvent.type(screen.getAllByLabelText("Input price per million tokens")[1], "2");
    await userEvent.type(screen.getAllByLabelText("Output price per million tokens")[1], "8");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(update).toHaveBeenCalledTimes(1);
    const body = update.mock.calls[0][1];
    expect(body.watts_per_instance).toBe(420);
    expect(body.model_prices).toEqual({
      qwen: { input_per_mtok: 0.5, output_per_mtok: 1.5 },
      llama: { input_per_mtok: 2, output_per_mtok: 8 },
    });

    update.mockRejectedValueOnce(new Error("invalid request: model_prices.qwen.input_per_mtok: must be >= 0"));
    await userEvent.click(screen.getByRole("button", { name: "Edit" }));
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("model_prices.qwen.input_per_mtok");
  });
});
