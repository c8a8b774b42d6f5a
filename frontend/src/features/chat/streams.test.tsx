import { act, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createClient } from "../../api/client";
import { FakeSse, flush, mockFetch } from "../../test/fakes";
import { Message } from "./Message";
import { StreamRegistry, useStreams } from "./streams";
import { fromStream } from "./useConversationView";

const client = createClient({ apiKey: "bsk_test" });
const CREATED = {
  stream_id: "s1",
  conversation_id: "c1",
  status: "running",
  provider: "p1",
  model: "qwen2.5-7b-instruct",
  last_event_id: 0,
  subscribers: 0,
  context: { dropped_messages: 0, prompt_tokens_estimate: 5 },
  user_message_id: "m1",
  events_url: "/api/v1/chat/streams/s1/events?token=t0k",
  expires_in: 30,
};

function Shown({ registry }: { registry: StreamRegistry }) {
  const streams = useStreams(registry);
  const last = streams[streams.length - 1];
  return (
    <div>
      <span data-testid="phase">{last?.phase ?? "none"}</span>
      {last && <Message message={fromStream(last)} />}
    </div>
  );
}

let registry: StreamRegistry;
afterEach(() => registry?.close());

function server(bodies: FakeSse[]) {
  let opened = 0;
  return mockFetch({
    "POST /api/v1/chat/streams": () => ({ status: 201, data: CREATED }),
    "GET /api/v1/chat/streams/s1/events": () => bodies[opened++].response,
    "DELETE /api/v1/chat/streams/s1": () => ({ data: { ...CREATED, status: "cancelled" } }),
  });
}

async function started(bodies = [new FakeSse()], hooks = {}) {
  const api = server(bodies);
  registry = new StreamRegistry(client, { retryDelaysMs: [0, 0, 0], stopGraceMs: 2000 });
  registry.hooks = hooks;
  render(<Shown registry={registry} />);
  const { key, result } = registry.start({ message: "hi", model: "qwen2.5-7b-instruct" }, { providerId: "p1", model: null });
  await act(async () => {
    await result;
    await flush();
  });
  return { key, body: bodies[0], ...api };
}

describe("StreamRegistry", () => {
  it("shows the thinking live, open, then collapsed once the answer starts, and tool calls", async () => {
    const { body } = await started();
    await act(async () => {
      body.emit("reasoning", { text: "Let me " }, 1);
      body.emit("reasoning", { text: "think." }, 2);
      await flush();
    });
    const toggle = screen.getByRole("button", { name: "Thinking…" });
    expect(toggle).toHaveAttribute("aria-expanded", "true");
    expect(screen.getByTestId("thinking")).toHaveTextContent("Let me think.");
    await act(async () => {
      body.emit("delta", { text: "Answer" }, 3);
      body.emit("tool_call", { index: 0, id: "call-1", type: "function", name: "lookup", arguments: '{"q":"x"}' }, 4);
      await flush();
    });
    expect(screen.getByRole("button", { name: "Thought (3 words)" })).toHaveAttribute("aria-expanded", "false");
    expect(screen.getByTestId("tool-call")).toHaveTextContent("Called lookup");
    expect(screen.getByTestId("tool-call")).toHaveTextContent('"q": "x"');
    await act(async () => {
      screen.getByRole("button", { name: "Thought (3 words)" }).click();
      await flush();
    });
    expect(screen.getByTestId("thinking")).toHaveTextContent("Let me think.");
  });

  it("posts the message, follows the events with the key as a header and renders tokens", async () => {
    const onFinish = vi.fn();
    const { body, calls } = await started([new FakeSse()], { onFinish });
    expect(calls[0]).toMatchObject({ method: "POST", path: "/api/v1/chat/streams" });
    expect(calls[1]).toMatchObject({ method: "GET", path: "/api/v1/chat/streams/s1/events" });
    expect(calls[1].headers.Authorization).toBe("Bearer bsk_test");
    expect(calls[1].path).not.toContain("token=");

    await act(async () => {
      body.emit("delta", { text: "Hello" }, 1);
      body.emit("delta", { text: ", **world**" }, 2);
      await flush();
    });
    expect(screen.getByRole("article")).toHaveTextContent("Hello, world");
    expect(screen.getByText("world").tagName).toBe("STRONG");
    expect(screen.getByTestId("phase")).toHaveTextContent("streaming");

    await act(async () => {
      body.emit(
        "done",
        {
          finish_reason: "length",
          usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
          usage_estimated: false,
          stats: { ttft_ms: 84.4, duration_ms: 910, tokens_per_second: 41.27 },
          model: "qwen2.5-7b-instruct",
          message_id: "a1",
        },
        3,
      );
      await flush();
    });
    expect(screen.getByTestId("phase")).toHaveTextContent("done");
    expect(screen.getByTestId("message-stats")).toHaveTextContent("TTFT 84 ms");
    expect(screen.getByTestId("message-stats")).toHaveTextContent("41.3 tok/s");
    expect(screen.getByTestId("stop-reason")).toHaveTextContent("Cut at the max tokens limit");
    expect(screen.getByRole("button", { name: "Copy answer" })).toBeInTheDocument();
    expect(onFinish).toHaveBeenCalledTimes(1);
    expect(onFinish.mock.calls[0][0]).toMatchObject({ phase: "done", conversationId: "c1", providerId: "p1" });
  });

  it("resumes after a network blip with Last-Event-ID, showing that it does", async () => {
    const bodies = [new FakeSse(), new FakeSse()];
    const { calls } = await started(bodies);
    await act(async () => {
      bodies[0].emit("delta", { text: "one " }, 1);
      await flush();
      bodies[0].cut();
      await flush(10);
    });
    await waitFor(() => expect(calls.filter((c) => c.path.endsWith("/events"))).toHaveLength(2));
    expect(calls.at(-1)?.headers["Last-Event-ID"]).toBe("1");
    await act(async () => {
      bodies[1].emit("delta", { text: "two" }, 2);
      await flush();
    });
    expect(screen.getByRole("article")).toHaveTextContent("one two");
    expect(screen.getByTestId("phase")).toHaveTextContent("streaming");
  });

  it("shows the server's error event as a sentence, with its words under Details", async () => {
    const { body } = await started();
    await act(async () => {
      body.emit("delta", { text: "partial" }, 1);
      body.emit("error", { code: "provider_timeout", message: "LM Studio stopped answering" }, 2);
      await flush();
    });
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("The model server stopped answering in time.");
    expect(alert).toHaveTextContent("LM Studio stopped answering");
    expect(alert.textContent).not.toMatch(/^provider_timeout:/);
    expect(screen.getByRole("article")).toHaveTextContent("partial");
  });

  it("forgets a stream whose POST failed and returns the error", async () => {
    mockFetch({
      "POST /api/v1/chat/streams": () => ({
        status: 503,
        error: { code: "provider_unavailable", message: "LM Studio refused the connection" },
      }),
    });
    registry = new StreamRegistry(client);
    render(<Shown registry={registry} />);
    let result!: ReturnType<StreamRegistry["start"]>["result"];
    act(() => {
      result = registry.start({ message: "hi" }, { providerId: "p1", model: null }).result;
    });
    expect(screen.getByTestId("phase")).toHaveTextContent("starting");
    let error: unknown;
    await act(async () => {
      error = (await result).error;
    });
    expect(error).toMatchObject({ code: "provider_unavailable" });
    expect(screen.getByTestId("phase")).toHaveTextContent("none");
  });

  it("stop deletes the stream and waits for the final event", async () => {
    const { body, calls, key } = await started();
    await act(async () => {
      body.emit("delta", { text: "a long answer" }, 1);
      await flush();
    });
    await act(async () => {
      await registry.stop(key);
    });
    expect(calls.at(-1)).toMatchObject({ method: "DELETE", path: "/api/v1/chat/streams/s1" });
    expect(screen.getByTestId("phase")).toHaveTextContent("stopping");
    await act(async () => {
      body.emit("done", { finish_reason: "cancelled", cancel_reason: "stopped", stats: { ttft_ms: 10 } }, 2);
      await flush();
    });
    expect(screen.getByTestId("phase")).toHaveTextContent("stopped");
    expect(screen.getByTestId("stop-reason")).toHaveTextContent("Stopped by you");
    expect(screen.getByRole("article")).toHaveTextContent("a long answer");
  });

  it("attaches to a running stream from its first event and knows it afterwards", async () => {
    const body = new FakeSse();
    const { calls } = mockFetch({ "GET /api/v1/chat/streams/s9/events": () => body.response });
    registry = new StreamRegistry(client);
    render(<Shown registry={registry} />);
    act(() => void registry.attach("s9", "c9"));
    await act(async () => {
      await flush();
      body.emit("delta", { text: "replayed" }, 1);
      await flush();
    });
    expect(calls[0].headers["Last-Event-ID"]).toBe("0");
    expect(screen.getByRole("article")).toHaveTextContent("replayed");
    expect(registry.knows("s9")).toBe(true);
    expect(registry.forConversation("c9")?.streamId).toBe("s9");
    // Attaching again follows the same stream, not a second copy.
    expect(registry.attach("s9", "c9").key).toBe(registry.forConversation("c9")?.key);
  });
});
