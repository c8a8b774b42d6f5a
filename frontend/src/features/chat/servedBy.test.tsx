import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ConversationMessage, ServedBy } from "../../api/types";
import { Message } from "./Message";
import type { LiveStream } from "./streams";
import { fromServer, fromStream } from "./useConversationView";

const POOL: ServedBy = {
  provider: "gpu-pool",
  model: "qwen2.5-7b-instruct",
  server: "http://gpu2.test:1234/v1",
  instance: "qwen2.5-7b-instruct:2",
  queued_ms: 1250,
};

const FALLBACK: ServedBy = {
  provider: "backup",
  model: "qwen2.5-7b-instruct",
  server: "http://backup.test:1234/v1",
  instance: "qwen2.5-7b-instruct",
  queued_ms: null,
  fallback_from: [
    { provider: "primary", model: "qwen2.5-7b-instruct", code: "provider_unavailable" },
    { provider: "cloud", model: "gpt-4.1-mini", code: "upstream_error" },
  ],
};

function finished(served: ServedBy | undefined): LiveStream {
  return {
    key: "stream-1",
    conversationId: "c1",
    streamId: "s1",
    providerId: "p1",
    model: "qwen2.5-7b-instruct",
    userText: "hi",
    userImages: [],
    userMessageId: "u1",
    phase: "done",
    text: "Hello",
    reasoning: "",
    toolCalls: [],
    done: {
      finish_reason: "stop",
      message_id: "a1",
      model: "qwen2.5-7b-instruct",
      stats: { ttft_ms: 84, duration_ms: 900, tokens_per_second: 41.2 },
      usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
      served_by: served,
    },
    error: null,
    context: null,
    finishedAt: 1000,
  };
}

describe("where an answer came from", () => {
  it("names the provider, instance and server of the done event, and how long it queued", () => {
    render(<Message message={fromStream(finished(POOL))} />);
    const stats = screen.getByTestId("message-stats");
    expect(stats).toHaveTextContent("TTFT 84 ms");
    expect(stats).toHaveTextContent("served by gpu-pool · qwen2.5-7b-instruct:2 on http://gpu2.test:1234/v1");
    expect(stats).toHaveTextContent("queued 1.25 s");
    expect(stats).not.toHaveTextContent("fallback");
  });

  it("says which targets failed first, with their error codes as a tooltip", () => {
    render(<Message message={fromStream(finished(FALLBACK))} />);
    const stats = screen.getByTestId("message-stats");
    expect(stats).toHaveTextContent("served by backup · qwen2.5-7b-instruct on http://backup.test:1234/v1");
    expect(stats).not.toHaveTextContent("queued");
    const after = screen.getByText("after fallback from primary, cloud/gpt-4.1-mini");
    expect(after).toHaveAttribute("title", "primary: provider_unavailable\ncloud/gpt-4.1-mini: upstream_error");
  });

  it("shows it for a stored answer too (after a reload), and nothing when the server did not say", () => {
    const message: ConversationMessage = {
      id: "a1",
      conversation_id: "c1",
      role: "assistant",
      content: "Hello",
      status: "complete",
      model: "qwen2.5-7b-instruct",
      usage: null,
      stats: { ttft_ms: 84, served_by: FALLBACK },
      error: null,
      created_at: "2026-01-01T00:00:00Z",
    };
    const { unmount } = render(<Message message={fromServer(message)} />);
    expect(screen.getByTestId("message-stats")).toHaveTextContent("after fallback from primary");
    unmount();
    render(<Message message={fromStream(finished(undefined))} />);
    expect(screen.getByTestId("message-stats")).not.toHaveTextContent("served by");
  });
});
