import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { ApiClient } from "../../api/client";
import type { Me, ModelInfo, ProviderPublic } from "../../api/types";
import { ModelLoadControls } from "./ModelLoadControls";

const KINDS = [{ kind: "lmstudio", description: "", builtin: true, supports_load: true }];
const MODEL: ModelInfo = {
  id: "acme/tiny-chat",
  type: "llm",
  arch: null,
  state: "not-loaded",
  max_context_length: 4096,
  quantization: null,
  publisher: null,
};
const PROVIDER = { id: "p1", name: "LMStudio Local", kind: "lmstudio", owner_id: null } as ProviderPublic;
const admin: Me = { user_id: "u1", name: "root", role: "admin", key_id: "k" };
const user: Me = { user_id: "u2", name: "ada", role: "user", key_id: "k2" };

function fakeClient() {
  const post = vi.fn(async () => ({}));
  return { client: { post } as unknown as ApiClient, post };
}

describe("ModelLoadControls", () => {
  it("lets an admin load a model that is not loaded (ids with slashes stay a path)", async () => {
    const { client, post } = fakeClient();
    const changed = vi.fn();
    render(
      <ModelLoadControls client={client} me={admin} provider={PROVIDER} model={MODEL} kinds={KINDS} onChanged={changed} />,
    );
    expect(screen.getByTestId("model-state")).toHaveTextContent("not loaded");
    await userEvent.click(screen.getByRole("button", { name: "Load" }));
    await waitFor(() => expect(changed).toHaveBeenCalled());
    expect(post).toHaveBeenCalledWith("/api/v1/llm-providers/models/acme/tiny-chat/load?provider=p1", undefined);
  });

  it("shows the state but no button to a user on a global provider", () => {
    const { client } = fakeClient();
    render(
      <ModelLoadControls client={client} me={user} provider={PROVIDER} model={MODEL} kinds={KINDS} onChanged={() => {}} />,
    );
    expect(screen.getByTestId("model-state")).toHaveTextContent("not loaded");
    expect(screen.queryByRole("button")).toBeNull();
  });

  it("shows nothing for a model whose provider reports no load state", () => {
    const { client } = fakeClient();
    const { container } = render(
      <ModelLoadControls
        client={client}
        me={admin}
        provider={PROVIDER}
        model={{ ...MODEL, state: null }}
        kinds={KINDS}
        onChanged={() => {}}
      />,
    );
    expect(container).toBeEmptyDOMElement();
  });
});
