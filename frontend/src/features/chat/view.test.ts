import { describe, expect, it } from "vitest";
import type { ConversationMessage } from "../../api/types";
import { type LiveStream, messageText } from "./streams";
import { answerStored, buildMessages } from "./useConversationView";

function stored(id: string, role: "user" | "assistant", content: string): ConversationMessage {
  return {
    id,
    conversation_id: "c1",
    role,
    content,
    status: "complete",
    model: null,
    usage: null,
    stats: null,
    error: null,
    created_at: "2026-01-01T00:00:00Z",
  };
}

const stream: LiveStream = {
  key: "stream-1",
  conversationId: "c1",
  streamId: "s1",
  providerId: "p1",
  model: "m",
  userText: "question",
  userMessageId: "u1",
  phase: "done",
  text: "answer",
  done: { finish_reason: "stop", message_id: "a1" },
  error: null,
  context: null,
  finishedAt: 1000,
};

describe("the conversation as shown", () => {
  it("shows the finished stream until a list requested after it has the answer", () => {
    const before = [stored("u1", "user", "question")];
    const shown = buildMessages(before, 900, stream);
    expect(shown.map((m) => [m.role, m.content])).toEqual([
      ["user", "question"],
      ["assistant", "answer"],
    ]);
    // A list requested before the end but answered after it still lacks the answer.
    expect(answerStored(stream, before, 999)).toBe(false);
    const after = [...before, stored("a1", "assistant", "answer")];
    expect(answerStored(stream, after, 1001)).toBe(true);
    expect(buildMessages(after, 1001, stream).map((m) => m.id)).toEqual(["u1", "a1"]);
  });

  it("recognises the answer by its id even in an older list", () => {
    const list = [stored("u1", "user", "question"), stored("a1", "assistant", "answer")];
    expect(answerStored(stream, list, 10)).toBe(true);
  });

  it("adds the user's message of a new chat until the server lists it", () => {
    const running: LiveStream = { ...stream, phase: "streaming", finishedAt: null, done: null, userMessageId: null };
    expect(buildMessages(undefined, 0, running).map((m) => m.role)).toEqual(["user", "assistant"]);
    const withId = { ...running, userMessageId: "u1" };
    expect(buildMessages([stored("u1", "user", "question")], 5, withId).map((m) => m.id)).toEqual([
      "u1",
      "live-stream-1",
    ]);
  });

  it("an attached stream (from a reload) brings no user message of its own", () => {
    const attached: LiveStream = { ...stream, userText: null, userMessageId: null, phase: "streaming", finishedAt: null };
    const shown = buildMessages([stored("u1", "user", "question")], 5, attached);
    expect(shown.map((m) => m.status)).toEqual(["complete", "streaming"]);
  });
});

describe("messageText", () => {
  it("keeps a string, joins text parts and ignores images", () => {
    expect(messageText("hi")).toBe("hi");
    expect(messageText(null)).toBeNull();
    expect(
      messageText([
        { type: "text", text: "look" },
        { type: "image_url", image_url: { url: "data:image/png;base64,AA==" } },
        { type: "text", text: "here" },
      ]),
    ).toBe("look\nhere");
    expect(messageText([{ type: "image_url", image_url: { url: "data:image/png;base64,AA==" } }])).toBeNull();
  });
});
