import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { createClient } from "../../api/client";
import { mockFetch, type Call } from "../../test/fakes";
import { SettingsPanel } from "./SettingsPanel";
import { usePreferences } from "./usePreferences";

const client = createClient({ apiKey: "bsk_test" });

function Harness({ limit = 32768 }: { limit?: number }) {
  const prefs = usePreferences(client, "user-1", 50);
  return (
    <SettingsPanel
      id="s"
      settings={prefs.settings}
      sync={prefs.sync}
      onChange={prefs.update}
      onClose={() => {}}
      maxTokensLimit={limit}
      limitSource="test-model: 8,192-token context"
    />
  );
}

function serverWith(initial: Record<string, unknown>) {
  let stored = { ...initial };
  const puts: Call[] = [];
  const api = mockFetch({
    "GET /api/v1/me/preferences": () => ({ data: stored }),
    "PUT /api/v1/me/preferences": (call) => {
      puts.push(call);
      stored = call.body as Record<string, unknown>;
      return { data: stored };
    },
  });
  return { ...api, puts, stored: () => stored };
}

describe("settings", () => {
  it("loads the server's preferences", async () => {
    serverWith({ temperature: 0.2, max_tokens: 512, system_prompt: "Be brief." });
    render(<Harness />);
    await waitFor(() => expect(screen.getByLabelText("Temperature")).toHaveValue("0.2"));
    expect(screen.getByLabelText("Max tokens")).toHaveValue("512");
    expect(screen.getByLabelText("System prompt")).toHaveValue("Be brief.");
    expect(screen.getByTestId("settings-sync")).toHaveTextContent("Saved to your account");
  });

  it("saves changes to the server and survives a remount (a reload)", async () => {
    const server = serverWith({});
    const first = render(<Harness />);
    await screen.findByText("Saved to your account");

    fireEvent.change(screen.getByLabelText("Temperature"), { target: { value: "1.3" } });
    fireEvent.change(screen.getByLabelText("Max tokens value"), { target: { value: "2500" } });
    fireEvent.change(screen.getByLabelText("System prompt"), { target: { value: "You are a pirate." } });
    await waitFor(() =>
      expect(server.stored()).toMatchObject({
        temperature: 1.3,
        max_tokens: 2500,
        system_prompt: "You are a pirate.",
      }),
    );
    // Debounced: one PUT for the burst of edits.
    expect(server.puts.length).toBeLessThanOrEqual(2);
    first.unmount();
    localStorage.clear(); // another browser: only the server knows

    render(<Harness />);
    await waitFor(() => expect(screen.getByLabelText("Temperature")).toHaveValue("1.3"));
    expect(screen.getByLabelText("Max tokens")).toHaveValue("2500");
    expect(screen.getByLabelText("System prompt")).toHaveValue("You are a pirate.");
  });

  it("keeps values in bounds (temperature 0–2 step 0.1, max tokens up to the model's limit)", async () => {
    serverWith({ temperature: 7, max_tokens: 50_000 });
    render(<Harness limit={8192} />);
    await waitFor(() => expect(screen.getByLabelText("Temperature")).toHaveValue("2"));
    expect(screen.getByLabelText("Max tokens")).toHaveValue("8192");
    expect(screen.getByLabelText("Max tokens")).toHaveAttribute("max", "8192");
    expect(screen.getByText(/up to 8,192 tokens \(test-model/)).toBeInTheDocument();
    const range = screen.getByLabelText("Temperature");
    expect(range).toHaveAttribute("min", "0");
    expect(range).toHaveAttribute("max", "2");
    expect(range).toHaveAttribute("step", "0.1");
  });

  it("falls back to the local copy when the server is unreachable", async () => {
    localStorage.setItem("bigshot.prefs.user-1", JSON.stringify({ temperature: 0.4, system_prompt: "cached" }));
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    render(<Harness />);
    expect(screen.getByLabelText("Temperature")).toHaveValue("0.4");
    expect(screen.getByLabelText("System prompt")).toHaveValue("cached");
    await screen.findByText(/server is unreachable/);
    await act(async () => {
      fireEvent.change(screen.getByLabelText("System prompt"), { target: { value: "edited offline" } });
    });
    expect(JSON.parse(localStorage.getItem("bigshot.prefs.user-1")!).system_prompt).toBe("edited offline");
  });

  it("keeps an edit the server never got across a reload, and sends it then", async () => {
    let online = false;
    let stored: Record<string, unknown> = { system_prompt: "old" };
    const puts: Call[] = [];
    mockFetch({
      "GET /api/v1/me/preferences": () => ({ data: stored }),
      "PUT /api/v1/me/preferences": (call) => {
        if (!online) return { status: 503, error: { code: "service_unavailable", message: "down" } };
        puts.push(call);
        stored = call.body as Record<string, unknown>;
        return { data: stored };
      },
    });
    const first = render(<Harness />);
    await screen.findByText("Saved to your account");
    fireEvent.change(screen.getByLabelText("System prompt"), { target: { value: "written offline" } });
    await screen.findByText(/server is unreachable/);
    first.unmount();

    online = true; // the gateway is back; its copy is still the old one
    render(<Harness />);
    await waitFor(() => expect(stored.system_prompt).toBe("written offline"));
    expect(screen.getByLabelText("System prompt")).toHaveValue("written offline");
    await screen.findByText("Saved to your account");
    expect(puts).toHaveLength(1);
  });
});
