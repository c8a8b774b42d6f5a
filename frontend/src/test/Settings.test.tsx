import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { createClient } from "../api/client";
import { SettingsPanel } from "../components/SettingsPanel";
import { usePreferences } from "../hooks/usePreferences";
import { mockFetch, type Call } from "./fakes";

const client = createClient({ apiKey: "bsk_test" });

function Harness() {
  const prefs = usePreferences(client, "user-1", 50);
  return (
    <SettingsPanel id="s" settings={prefs.settings} sync={prefs.sync} onChange={prefs.update} onClose={() => {}} />
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

  it("keeps values in bounds (temperature 0–2 step 0.1, max tokens 100–4000)", async () => {
    serverWith({ temperature: 7, max_tokens: 5 });
    render(<Harness />);
    await waitFor(() => expect(screen.getByLabelText("Temperature")).toHaveValue("2"));
    expect(screen.getByLabelText("Max tokens")).toHaveValue("100");
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
});
