import { screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { ApiClient } from "../../api/client";
import { renderWithQuery } from "../../test/render";
import { ModelCapacity, type ModelCapacityRow, capacityText } from "./ModelCapacity";

const ROW: ModelCapacityRow = {
  provider: "LMStudio Local",
  model: "qwen2.5-7b-instruct",
  slots: 4,
  in_use: 4,
  queued: 3,
  estimate_seconds: 12.4,
  instances: [],
};

function fakeClient(rows: ModelCapacityRow[]) {
  const get = vi.fn(async () => rows);
  return { client: { get } as unknown as ApiClient, get };
}

describe("ModelCapacity", () => {
  it("shows the chosen model's slots and queue", async () => {
    const { client, get } = fakeClient([{ ...ROW, model: "other" }, ROW]);
    renderWithQuery(<ModelCapacity client={client} provider="LMStudio Local" model="qwen2.5-7b-instruct" />);
    expect(await screen.findByTestId("model-capacity")).toHaveTextContent(
      "4 of 4 slots busy · 3 waiting (about 12 s)",
    );
    expect(get).toHaveBeenCalledWith("/api/v1/llm-providers/capacity");
  });

  it("shows nothing for a model without a queue yet", async () => {
    const { client, get } = fakeClient([ROW]);
    const { container } = renderWithQuery(<ModelCapacity client={client} provider="LMStudio Local" model="x" />);
    await vi.waitFor(() => expect(get).toHaveBeenCalled());
    expect(container).toBeEmptyDOMElement();
  });

  it("words an idle model without a queue", () => {
    expect(capacityText({ ...ROW, in_use: 1, slots: 1, queued: 0 })).toBe("1 of 1 slot busy");
  });
});
