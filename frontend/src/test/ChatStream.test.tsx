import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { beforeEach, describe, expect, it } from "vitest";
import { createClient } from "../api/client";
import { Message, type UiMessage } from "../components/Message";
import { useChatStream, type StreamResult } from "../hooks/useChatStream";
import { FakeEventSource, mockFetch } from "./fakes";

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
  events_url: "/api/v1/chat/streams/s1/events?token=t0k",
  expires_in: 30,
};

function Harness() {
  const [finished, setFinished] = useState<StreamResult[]>([]);
  const stream = useChatStream({
    client,
    eventSource: (url) => new FakeEventSource(url) as unknown as EventSource,
    onFinish: (r) => setFinished((all) => [...all, r]),
    stopGraceMs: 2000,
  });
  const last = finished[finished.length - 1];
  const shown: UiMessage | null = stream.active
    ? {
        id: "live",
        role: "assistant",
        content: stream.state.text,
        status: "streaming",
        reconnecting: stream.state.phase === "reconnecting",
      }
    : last
      ? {
          id: "final",
          role: "assistant",
          content: last.text,
          status: last.phase === "done" ? "complete" : last.phase === "stopped" ? "cancelled" : "error",
          stats: last.done?.stats,
          usage: last.done?.usage,
          error: last.error,
        }
      : null;
  return (
    <div>
      <button onClick={() => void stream.start({ message: "hi", model: "qwen2.5-7b-instruct" })}>send</button>
      <button onClick={() => void stream.stop()}>stop</button>
      <span data-testid="phase">{stream.state.phase}</span>
      <span data-testid="finished">{finished.length}</span>
      {shown && <Message message={shown} />}
    </div>
  );
}

async function startStream() {
  const api = mockFetch({
    "POST /api/v1/chat/streams": () => ({ status: 201, data: CREATED }),
    "DELETE /api/v1/chat/streams/s1": () => ({ data: { ...CREATED, status: "cancelled" } }),
  });
  render(<Harness />);
  await userEvent.click(screen.getByText("send"));
  await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
  const es = FakeEventSource.latest();
  act(() => es.open());
  return { es, ...api };
}

describe("useChatStream", () => {
  beforeEach(() => {
    FakeEventSource.instances = [];
  });

  it("posts the message, opens events_url and renders tokens as they arrive", async () => {
    const { es, calls } = await startStream();
    expect(calls[0]).toMatchObject({ method: "POST", path: "/api/v1/chat/streams" });
    expect(calls[0].body).toMatchObject({ message: "hi", model: "qwen2.5-7b-instruct" });
    expect(es.url).toBe("/api/v1/chat/streams/s1/events?token=t0k");

    act(() => es.emit("delta", { text: "Hello" }, 1));
    expect(screen.getByRole("article")).toHaveTextContent("Hello");
    act(() => es.emit("delta", { text: ", **world**" }, 2));
    expect(screen.getByRole("article")).toHaveTextContent("Hello, world");
    expect(screen.getByText("world").tagName).toBe("STRONG");
    expect(screen.getByTestId("phase")).toHaveTextContent("streaming");

    act(() =>
      es.emit(
        "done",
        {
          finish_reason: "stop",
          usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
          usage_estimated: false,
          stats: { ttft_ms: 84.4, duration_ms: 910, tokens_per_second: 41.27 },
          model: "qwen2.5-7b-instruct",
        },
        3,
      ),
    );
    expect(screen.getByTestId("phase")).toHaveTextContent("done");
    expect(es.closed).toBe(true);
    expect(screen.getByTestId("message-stats")).toHaveTextContent("TTFT 84 ms");
    expect(screen.getByTestId("message-stats")).toHaveTextContent("41.3 tok/s");
    expect(screen.getByRole("button", { name: "Copy answer" })).toBeInTheDocument();
  });

  it("keeps the EventSource open through a network blip (it resumes with Last-Event-ID)", async () => {
    const { es } = await startStream();
    act(() => es.emit("delta", { text: "one " }, 1));
    act(() => es.fail(0));
    expect(es.closed).toBe(false);
    expect(screen.getByTestId("phase")).toHaveTextContent("reconnecting");
    expect(screen.getByRole("status")).toHaveTextContent("resuming");
    act(() => es.open());
    act(() => es.emit("delta", { text: "two" }, 2));
    expect(screen.getByTestId("phase")).toHaveTextContent("streaming");
    expect(screen.getByRole("article")).toHaveTextContent("one two");
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it("shows the server's error event inline", async () => {
    const { es } = await startStream();
    act(() => es.emit("delta", { text: "partial" }, 1));
    act(() => es.emit("error", { code: "provider_timeout", message: "LM Studio stopped answering" }, 2));
    expect(screen.getByRole("alert")).toHaveTextContent("provider_timeout: LM Studio stopped answering");
    expect(screen.getByRole("article")).toHaveTextContent("partial");
    expect(es.closed).toBe(true);
  });

  it("reports a stream the browser could not resume", async () => {
    const { es } = await startStream();
    act(() => es.fail(2));
    expect(screen.getByRole("alert")).toHaveTextContent("could not be resumed");
  });

  it("shows an error from the stream request itself (before any token)", async () => {
    mockFetch({
      "POST /api/v1/chat/streams": () => ({
        status: 503,
        error: { code: "provider_unavailable", message: "LM Studio refused the connection" },
      }),
    });
    render(<Harness />);
    await userEvent.click(screen.getByText("send"));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "provider_unavailable: LM Studio refused the connection",
    );
    expect(FakeEventSource.instances).toHaveLength(0);
  });

  it("stop deletes the stream and waits for the final event", async () => {
    const { es, calls } = await startStream();
    act(() => es.emit("delta", { text: "a long answer" }, 1));
    await userEvent.click(screen.getByText("stop"));
    expect(calls.at(-1)).toMatchObject({ method: "DELETE", path: "/api/v1/chat/streams/s1" });
    expect(screen.getByTestId("phase")).toHaveTextContent("stopping");
    act(() => es.emit("done", { finish_reason: "cancelled", stats: { ttft_ms: 10 } }, 2));
    expect(screen.getByTestId("phase")).toHaveTextContent("stopped");
    expect(screen.getByText("Stopped.")).toBeInTheDocument();
    expect(screen.getByRole("article")).toHaveTextContent("a long answer");
    expect(screen.getByTestId("finished")).toHaveTextContent("1");
  });
});
