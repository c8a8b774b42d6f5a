import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import { createClient } from "../../api/client";
import { MODELS, PROVIDER, mockFetch, modelList } from "../../test/fakes";
import { renderWithQuery as render } from "../../test/render";
import { ModelSelect, modelLabel } from "./ModelSelect";
import { defaultModel, useModels } from "./useModels";

const client = createClient({ apiKey: "bsk_test" });

function Harness({ providerId }: { providerId: string | null }) {
  const models = useModels(client, providerId, 60_000);
  const [picked, setPicked] = useState<string | null>(null);
  const value = picked ?? defaultModel(models.models);
  return (
    <ModelSelect
      models={models.models}
      aliases={models.aliases}
      value={value}
      onChange={setPicked}
      loading={models.loading}
      error={models.error}
    />
  );
}

describe("model dropdown", () => {
  it("shows the caller's aliases in their own group and lets the user pick one", async () => {
    const aliases = [
      { name: "default", scope: "global", provider_id: "p2", provider_name: "Box", model: "qwen3-8b" },
      { name: "gpt-5-codex", scope: "setting", provider_id: null, provider_name: null, model: "qwen3-8b" },
    ];
    mockFetch({ "GET /api/v1/llm-providers/models": () => ({ data: { ...modelList(), aliases } }) });
    render(<Harness providerId="p1" />);
    const select = await screen.findByRole("combobox", { name: "Model" });
    await waitFor(() => expect(select).not.toBeDisabled());
    const groups = Array.from(select.querySelectorAll("optgroup")).map((g) => g.label);
    expect(groups).toEqual(["Loaded", "Not loaded", "Aliases"]);
    const group = select.querySelector('optgroup[label="Aliases"]') as HTMLElement;
    expect(within(group).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "default → Box/qwen3-8b",
      "gpt-5-codex → qwen3-8b",
    ]);
    await userEvent.selectOptions(select, "default");
    expect(select).toHaveValue("default");
    expect(select).toHaveAttribute("title", "default → Box/qwen3-8b");
  });

  it("lists chat models only, loaded ones first and grouped, with type and context length", async () => {
    const { calls } = mockFetch({ "GET /api/v1/llm-providers/models": () => ({ data: modelList() }) });
    render(<Harness providerId="p1" />);
    const select = await screen.findByRole("combobox", { name: "Model" });
    await waitFor(() => expect(select).not.toBeDisabled());

    const options = within(select).getAllByRole("option").map((o) => o.textContent);
    expect(options).toEqual([
      "qwen2.5-7b-instruct · llm · 32k ctx",
      "llama-3.2-1b-instruct · llm · 128k ctx",
      "gemma-3-4b-it · vlm · 128k ctx",
    ]);
    expect(options.join()).not.toContain("embedding");
    const groups = Array.from(select.querySelectorAll("optgroup")).map((g) => g.label);
    expect(groups).toEqual(["Loaded", "Not loaded"]);
    // The first loaded model is chosen.
    expect(select).toHaveValue("qwen2.5-7b-instruct");
    expect(calls[0].path).toBe("/api/v1/llm-providers/models?detailed=true&provider=p1");
    expect(calls[0].headers.Authorization).toBe("Bearer bsk_test");
  });

  it("lets the user pick another model", async () => {
    mockFetch({ "GET /api/v1/llm-providers/models": () => ({ data: modelList() }) });
    render(<Harness providerId="p1" />);
    const select = await screen.findByRole("combobox", { name: "Model" });
    await waitFor(() => expect(select).not.toBeDisabled());
    await userEvent.selectOptions(select, "gemma-3-4b-it");
    expect(select).toHaveValue("gemma-3-4b-it");
  });

  it("does not group or label models whose provider reports no load state", async () => {
    const compat = MODELS.slice(1).map((m) => ({ ...m, state: null }));
    mockFetch({ "GET /api/v1/llm-providers/models": () => ({ data: modelList(compat) }) });
    render(<Harness providerId="p1" />);
    const select = await screen.findByRole("combobox", { name: "Model" });
    await waitFor(() => expect(select).not.toBeDisabled());
    expect(select.querySelectorAll("optgroup")).toHaveLength(0);
    expect(within(select).getAllByRole("option")).toHaveLength(3);
    expect(select.textContent).not.toMatch(/loaded/);
  });

  it("refreshes every 60 s and when the provider changes", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const second = { ...PROVIDER, id: "p2", name: "Other" };
    const { calls } = mockFetch({
      "GET /api/v1/llm-providers/models": (call) =>
        call.path.includes("provider=p2")
          ? { data: modelList([{ ...MODELS[1], id: "other-model", state: "loaded" }], second) }
          : { data: modelList() },
    });
    const { rerender } = render(<Harness providerId="p1" />);
    await waitFor(() => expect(calls).toHaveLength(1));
    await act(async () => {
      vi.advanceTimersByTime(60_000);
    });
    await waitFor(() => expect(calls).toHaveLength(2));

    rerender(<Harness providerId="p2" />);
    await waitFor(() => expect(screen.getByRole("combobox", { name: "Model" })).toHaveValue("other-model"));
    expect(calls[2].path).toContain("provider=p2");
  });

  it("says so when the provider has no chat model", async () => {
    mockFetch({ "GET /api/v1/llm-providers/models": () => ({ data: modelList([MODELS[0]]) }) });
    render(<Harness providerId="p1" />);
    expect(await screen.findByRole("option", { name: "No chat models" })).toBeInTheDocument();
  });

  it("shows the server's message when the provider is down", async () => {
    mockFetch({
      "GET /api/v1/llm-providers/models": () => ({
        status: 503,
        error: { code: "provider_unavailable", message: "LM Studio refused the connection" },
      }),
    });
    render(<Harness providerId="p1" />);
    expect(await screen.findByText("LM Studio refused the connection")).toBeInTheDocument();
    expect(screen.getByRole("option", { name: "No chat models" })).toBeInTheDocument();
  });

  it("labels a model without details by its id", () => {
    expect(modelLabel({ id: "bare" })).toBe("bare");
  });
});
