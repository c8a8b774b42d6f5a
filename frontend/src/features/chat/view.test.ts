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
  userImages: [],
  userMessageId: "u1",
  phase: "done",
  text: "answer",
  reasoning: "",
  toolCalls: [],
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

  it("a finished answer has its stored id (its actions work) before the list has it", () => {
    const [, answer] = buildMessages([stored("u1", "user", "question")], 900, stream);
    expect(answer).toMatchObject({ id: "a1", live: false, parentId: "u1", status: "complete" });
    const running = buildMessages([stored("u1", "user", "question")], 5, { ...stream, phase: "streaming", finishedAt: null, done: null });
    expect(running[1]).toMatchObject({ id: "live-stream-1", live: true });
  });

  it("a failed answer (no id) is stored once an error answer follows its question", () => {
    const failed: LiveStream = { ...stream, phase: "error", done: null, error: { code: "x", message: "y" } };
    const question = [stored("u1", "user", "question")];
    expect(answerStored(failed, question, 10)).toBe(false);
    const withError = [...question, { ...stored("a1", "assistant", ""), status: "error" as const }];
    expect(answerStored(failed, withError, 10)).toBe(true);
    expect(buildMessages(withError, 10, failed).filter((m) => m.role === "assistant")).toHaveLength(1);
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

describe("regenerate, edit and continue", () => {
  const path = [stored("u1", "user", "q1"), stored("a1", "assistant", "r1"), stored("u2", "user", "q2"), stored("a2", "assistant", "r2")];
  const running: LiveStream = { ...stream, phase: "streaming", finishedAt: null, done: null, userText: null, userMessageId: null };

  it("a regenerated answer takes the place of the old one and what followed it", () => {
    const shown = buildMessages(path, 5, { ...running, after: "u1", text: "new" });
    expect(shown.map((m) => m.content)).toEqual(["q1", "new"]);
  });

  it("an edited first question replaces the whole branch", () => {
    const shown = buildMessages(path, 5, { ...running, after: null, userText: "better q1", text: "" });
    expect(shown.map((m) => [m.role, m.content])).toEqual([
      ["user", "better q1"],
      ["assistant", ""],
    ]);
  });

  it("a continued answer grows in place, keeping its id and text", () => {
    const shown = buildMessages(path, 5, { ...running, continues: "a2", prefix: "r2", text: " and more" });
    expect(shown.map((m) => m.id)).toEqual(["u1", "a1", "u2", "a2"]);
    expect(shown[3].content).toBe("r2 and more");
    expect(shown[3].status).toBe("streaming");
    // Its id is in every list: only a list requested after the end has the new text.
    const done = { ...running, continues: "a2", phase: "done" as const, finishedAt: 100, done: { message_id: "a2" } };
    expect(answerStored(done, path, 50)).toBe(false);
    expect(answerStored(done, path, 101)).toBe(true);
  });

  it("an unknown anchor leaves the list alone", () => {
    expect(buildMessages(path, 5, { ...running, after: "gone" }).length).toBe(5);
  });

  it("thinking and tool calls of a stream are shown with it", () => {
    const call = { id: "c", type: "function", function: { name: "f", arguments: "{}" } };
    const [, answer] = buildMessages([stored("u1", "user", "q")], 5, { ...running, reasoning: "hmm", toolCalls: [call] });
    expect(answer.reasoning).toBe("hmm");
    expect(answer.toolCalls).toEqual([call]);
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
