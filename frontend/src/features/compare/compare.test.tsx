import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { createClient } from "../../api/client";
import type { CompareEvent } from "../../api/types";
import { FakeSse, flush, mockFetch } from "../../test/fakes";
import { runComparison } from "./compare";
import { ColumnStats } from "./CompareDialog";

describe("runComparison", () => {
  it("posts the comparison with the key as a header and reads its events to the end", async () => {
    const body = new FakeSse();
    const { calls } = mockFetch({ "POST /api/v1/compare": () => body.response });
    const seen: CompareEvent[] = [];
    const done = runComparison(
      createClient({ apiKey: "bsk_c" }),
      { prompt: "hi", params: {}, targets: [{ provider: "a", model: "m" }, { provider: "b", model: "n" }] },
      (e) => seen.push(e),
    );
    await flush();
    body.emit("delta", { target: 1, text: "Hi" }, 1);
    body.emit("end", { id: "x", status: "complete" }, 2);
    await done;
    expect(seen.map((e) => e.event)).toEqual(["delta", "end"]);
    expect(calls[0].headers.Authorization).toBe("Bearer bsk_c");
    expect(calls[0].body).toMatchObject({ prompt: "hi" });
  });
});

describe("ColumnStats", () => {
  it("shows TTFT, tokens per second and the token count", () => {
    render(
      <ColumnStats
        column={{
          text: "x",
          status: "done",
          done: {
            target: 0,
            finish_reason: "stop",
            usage: { completion_tokens: 42 },
            usage_estimated: true,
            stats: { ttft_ms: 1500, tokens_per_second: 31.25 },
            model: "m",
          },
        }}
      />,
    );
    const line = screen.getByTestId("compare-stats");
    expect(line).toHaveTextContent("TTFT 1.50 s");
    expect(line).toHaveTextContent("31.3 tok/s");
    expect(line).toHaveTextContent("42≈ tokens");
  });
});
