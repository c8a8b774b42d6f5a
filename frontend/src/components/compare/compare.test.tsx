import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { parseSse } from "../../api/modelOps";
import { ColumnStats } from "./CompareDialog";

describe("parseSse", () => {
  it("splits events, keeps an incomplete one for later and accepts CRLF", () => {
    const first = parseSse('id: 1\r\nevent: delta\r\ndata: {"target":0,"text":"Hi"}\r\n\r\n: ping\n\nid: 2\nevent: do');
    expect(first.events).toEqual([{ event: "delta", data: '{"target":0,"text":"Hi"}' }]);
    const second = parseSse(`${first.rest}ne\ndata: {"target":0}\n\n`);
    expect(second.events).toEqual([{ event: "done", data: '{"target":0}' }]);
    expect(second.rest).toBe("");
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
