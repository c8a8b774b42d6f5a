import { describe, expect, it, vi } from "vitest";
import { FakeSse, flush, mockFetch } from "../test/fakes";
import { followSse, SseParser } from "./sse";

describe("SseParser", () => {
  it("splits events, keeps an incomplete one for later and accepts CRLF", () => {
    const parser = new SseParser();
    const first = parser.feed('id: 1\r\nevent: delta\r\ndata: {"target":0,"text":"Hi"}\r\n\r\n: ping\n\nid: 2\nevent: do');
    expect(first).toEqual([{ id: "1", event: "delta", data: '{"target":0,"text":"Hi"}' }]);
    expect(parser.feed('ne\ndata: {"target":0}\n\n')).toEqual([{ id: "2", event: "done", data: '{"target":0}' }]);
  });

  it("joins multi-line data and handles a CRLF cut between two chunks", () => {
    const parser = new SseParser();
    expect(parser.feed("data: one\r")).toEqual([]);
    expect(parser.feed("\ndata: two\r")).toEqual([]);
    expect(parser.feed("\n\r\n")).toEqual([{ id: "", event: "message", data: "one\ntwo" }]);
  });

  it("keeps the last id for events without one, and ignores comments and empty events", () => {
    const parser = new SseParser();
    const events = parser.feed("id: 7\ndata: a\n\n:comment\n\nevent: x\n\ndata: b\n\n");
    expect(events).toEqual([
      { id: "7", event: "message", data: "a" },
      { id: "7", event: "message", data: "b" },
    ]);
    expect(parser.lastEventId).toBe("7");
  });

  it("reads a byte stream split at every character the same as whole", () => {
    const text = "id: 1\nevent: delta\ndata: {\"text\":\"a b\"}\n\nid: 2\nevent: done\ndata: {}\n\n";
    const whole = new SseParser().feed(text);
    const parser = new SseParser();
    const pieces = [...text].flatMap((ch) => parser.feed(ch));
    expect(pieces).toEqual(whole);
    expect(whole).toHaveLength(2);
  });
});

describe("followSse", () => {
  it("sends the key as a header and resumes with Last-Event-ID after a cut", async () => {
    const bodies = [new FakeSse(), new FakeSse()];
    let opened = 0;
    const { calls } = mockFetch({ "GET /events": () => bodies[opened++].response });
    const seen: string[] = [];
    const reconnecting = vi.fn();
    const done = followSse({
      url: "/events",
      apiKey: "bsk_k",
      onEvent: (e) => {
        seen.push(e.data);
        return e.event === "done";
      },
      onReconnecting: reconnecting,
      retryDelaysMs: [0, 0],
    });
    await flush();
    bodies[0].emit("delta", "a", 1);
    bodies[0].emit("delta", "b", 2);
    await flush();
    bodies[0].cut();
    await flush(10);
    expect(reconnecting).toHaveBeenCalledTimes(1);
    bodies[1].emit("delta", "c", 3);
    bodies[1].emit("done", {}, 4);
    expect(await done).toBe("finished");
    expect(seen).toEqual(['"a"', '"b"', '"c"', "{}"]);
    expect(calls[0].headers.Authorization).toBe("Bearer bsk_k");
    expect(calls[0].headers["Last-Event-ID"]).toBeUndefined();
    expect(calls[1].headers["Last-Event-ID"]).toBe("2");
  });

  it("ends quietly on 204 and throws the server's error on 404", async () => {
    mockFetch({ "GET /over": () => new Response(null, { status: 204 }) });
    expect(await followSse({ url: "/over", apiKey: "k", onEvent: () => false })).toBe("over");
    mockFetch({ "GET /gone": () => ({ status: 404, error: { code: "not_found", message: "stream expired" } }) });
    await expect(followSse({ url: "/gone", apiKey: "k", onEvent: () => false })).rejects.toMatchObject({
      status: 404,
      code: "not_found",
    });
  });

  it("gives up after its retries", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    await expect(
      followSse({ url: "/x", apiKey: "k", onEvent: () => false, retryDelaysMs: [0, 0] }),
    ).rejects.toMatchObject({ code: "stream_lost" });
    expect(fetch).toHaveBeenCalledTimes(3);
  });
});
