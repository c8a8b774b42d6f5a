import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../../app/App";
import { mockFetch } from "../../test/fakes";
import { renderWithQuery as render } from "../../test/render";
import { KEY_STORAGE, adoptKeyFromFragment } from "./auth";

describe("signing in", () => {
  it("takes #key= from the address, stores it and removes the fragment", () => {
    window.history.replaceState(null, "", "/chat?x=1#key=bsk_from_link");
    expect(adoptKeyFromFragment()).toBe("bsk_from_link");
    expect(localStorage.getItem(KEY_STORAGE)).toBe("bsk_from_link");
    expect(window.location.hash).toBe("");
    expect(window.location.pathname + window.location.search).toBe("/chat?x=1");
  });

  it("ignores an address without a key", () => {
    window.history.replaceState(null, "", "/#other=1");
    expect(adoptKeyFromFragment()).toBeNull();
    expect(localStorage.getItem(KEY_STORAGE)).toBeNull();
  });

  it("explains a rejected key (401) and forgets it", async () => {
    mockFetch({
      "GET /api/v1/me": (call) =>
        call.headers.Authorization === "Bearer bsk_good"
          ? { data: { user_id: "u1", name: "alice", role: "user", key_id: "k1" } }
          : { status: 401, error: { code: "unauthorized", message: "invalid API key" } },
    });
    render(<App initialKey={null} />);
    await userEvent.type(screen.getByLabelText("API key"), "bsk_wrong");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("rejected (401");
    expect(localStorage.getItem(KEY_STORAGE)).toBeNull();
  });

  it("signs in with a good key and keeps it", async () => {
    mockFetch({
      "GET /api/v1/me": () => ({ data: { user_id: "u1", name: "alice", role: "user", key_id: "k1" } }),
    });
    render(<App initialKey={null} />);
    await userEvent.type(screen.getByLabelText("API key"), "bsk_good");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(screen.getByRole("button", { name: "Sign out" })).toBeInTheDocument());
    expect(localStorage.getItem(KEY_STORAGE)).toBe("bsk_good");
    await userEvent.click(screen.getByRole("button", { name: "Sign out" }));
    expect(await screen.findByLabelText("API key")).toBeInTheDocument();
    expect(localStorage.getItem(KEY_STORAGE)).toBeNull();
  });
});
