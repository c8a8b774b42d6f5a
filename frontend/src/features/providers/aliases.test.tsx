import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { createClient } from "../../api/client";
import type { AliasPublic, Me, ProviderPublic } from "../../api/types";
import { mockFetch, modelList, type Call } from "../../test/fakes";
import { renderWithQuery as render } from "../../test/render";
import { AliasesSection } from "./AliasesPanel";

const client = createClient({ apiKey: "bsk_test" });
const admin: Me = { user_id: "u1", name: "root", role: "admin", key_id: "k" };
const user: Me = { user_id: "u2", name: "ada", role: "user", key_id: "k2" };

const provider = (id: string, name: string): ProviderPublic =>
  ({ id, name, enabled: true, scope: "global", owner_id: null }) as ProviderPublic;
const PROVIDERS = [provider("p1", "LMStudio Local"), provider("p2", "Box")];

function alias(fields: Partial<AliasPublic>): AliasPublic {
  return {
    id: "a1",
    name: "claude-sonnet-4-5",
    scope: "global",
    owner_id: null,
    provider_id: "p1",
    provider_name: "LMStudio Local",
    model: "qwen2.5-7b-instruct",
    target: "LMStudio Local/qwen2.5-7b-instruct",
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    ...fields,
  };
}

/** A gateway that keeps the aliases it is sent, answering writes with `warnings`. */
function gateway(initial: AliasPublic[], warnings: string[] = []) {
  let stored = [...initial];
  const writes: Call[] = [];
  const api = mockFetch({
    "GET /api/v1/llm-providers/aliases": () => ({ data: stored }),
    "GET /api/v1/llm-providers/models": () => ({ data: modelList() }),
    "POST /api/v1/llm-providers/aliases": (call) => {
      writes.push(call);
      const body = call.body as { name: string; provider_id: string; model: string };
      if (body.name.includes("/")) {
        return { status: 422, error: { code: "validation_error", message: "name: no '/'" } };
      }
      const made = alias({ ...body, id: `a${stored.length + 1}`, target: `Box/${body.model}` });
      stored = [...stored, made];
      return { status: 201, data: { ...made, warnings } };
    },
    "PATCH /api/v1/llm-providers/aliases/a1": (call) => {
      writes.push(call);
      const body = call.body as { model: string };
      stored = stored.map((a) => (a.id === "a1" ? { ...a, ...body, target: `LMStudio Local/${body.model}` } : a));
      return { data: { ...stored[0], warnings: [] } };
    },
    "DELETE /api/v1/llm-providers/aliases/a1": (call) => {
      writes.push(call);
      stored = stored.filter((a) => a.id !== "a1");
      return { data: { id: "a1", deleted: true } };
    },
  });
  return { ...api, writes };
}

describe("model aliases", () => {
  it("lists aliases with what they stand for and whose they are", async () => {
    gateway([alias({}), alias({ id: "a2", name: "default", scope: "user", owner_id: "u1" })]);
    render(<AliasesSection me={admin} client={client} providers={PROVIDERS} />);
    const list = await screen.findByRole("list", { name: "Model aliases" });
    const rows = within(list).getAllByRole("listitem").map((li) => li.textContent);
    expect(rows[0]).toContain("claude-sonnet-4-5");
    expect(rows[0]).toContain("→ LMStudio Local/qwen2.5-7b-instruct");
    expect(rows[0]).toContain("global");
    expect(rows[1]).toContain("mine");
  });

  it("adds a global alias as an admin and shows the gateway's warning", async () => {
    const { writes } = gateway([], ["model 'm' not checked: provider 'Box' did not list its models"]);
    render(<AliasesSection me={admin} client={client} providers={PROVIDERS} />);
    await userEvent.click(await screen.findByRole("button", { name: "Add alias" }));
    const form = screen.getByRole("form", { name: "Add alias" });
    await userEvent.type(within(form).getByLabelText("Alias"), "gpt-5-codex");
    await userEvent.selectOptions(within(form).getByLabelText("Provider"), "p2");
    await userEvent.type(within(form).getByLabelText("Model"), "m");
    await userEvent.click(within(form).getByRole("button", { name: "Add alias" }));
    await waitFor(() => expect(writes).toHaveLength(1));
    expect(writes[0].body).toEqual({ name: "gpt-5-codex", provider_id: "p2", model: "m", scope: "global" });
    expect(await screen.findByRole("status")).toHaveTextContent("not checked");
    const list = await screen.findByRole("list", { name: "Model aliases" });
    expect(list).toHaveTextContent("gpt-5-codex");
    expect(list).toHaveTextContent("→ Box/m");
  });

  it("shows the gateway's refusal in the form", async () => {
    gateway([]);
    render(<AliasesSection me={admin} client={client} providers={PROVIDERS} />);
    await userEvent.click(await screen.findByRole("button", { name: "Add alias" }));
    const form = screen.getByRole("form", { name: "Add alias" });
    await userEvent.type(within(form).getByLabelText("Alias"), "a/b");
    await userEvent.type(within(form).getByLabelText("Model"), "m");
    await userEvent.click(within(form).getByRole("button", { name: "Add alias" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("name: no '/'");
  });

  it("edits and deletes (after a confirmation)", async () => {
    const { writes } = gateway([alias({})]);
    render(<AliasesSection me={admin} client={client} providers={PROVIDERS} />);
    await userEvent.click(await screen.findByRole("button", { name: "Edit alias claude-sonnet-4-5" }));
    const form = screen.getByRole("form", { name: "Edit alias" });
    const model = within(form).getByLabelText("Model");
    await userEvent.clear(model);
    await userEvent.type(model, "qwen3-8b");
    await userEvent.click(within(form).getByRole("button", { name: "Save alias" }));
    await waitFor(() => expect(writes).toHaveLength(1));
    expect(writes[0].method).toBe("PATCH");
    expect(writes[0].body).toEqual({ name: "claude-sonnet-4-5", provider_id: "p1", model: "qwen3-8b" });
    expect(await screen.findByText("→ LMStudio Local/qwen3-8b")).toBeInTheDocument();

    await userEvent.click(screen.getByRole("button", { name: "Delete alias claude-sonnet-4-5" }));
    expect(writes).toHaveLength(1); // only asked so far
    await userEvent.click(screen.getByRole("button", { name: "Delete claude-sonnet-4-5" }));
    await waitFor(() => expect(writes.map((w) => w.method)).toEqual(["PATCH", "DELETE"]));
    expect(await screen.findByText("No aliases yet.")).toBeInTheDocument();
  });

  it("lets a user manage only their own aliases, made without a scope", async () => {
    const { writes } = gateway([alias({})]);
    render(<AliasesSection me={user} client={client} providers={PROVIDERS} />);
    await screen.findByRole("list", { name: "Model aliases" });
    expect(screen.queryByRole("button", { name: /Edit alias/ })).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Add alias" }));
    const form = screen.getByRole("form", { name: "Add alias" });
    expect(within(form).queryByLabelText("For")).toBeNull();
    await userEvent.type(within(form).getByLabelText("Alias"), "default");
    await userEvent.type(within(form).getByLabelText("Model"), "qwen2.5-7b-instruct");
    await userEvent.click(within(form).getByRole("button", { name: "Add alias" }));
    await waitFor(() => expect(writes).toHaveLength(1));
    expect(writes[0].body).toEqual({ name: "default", provider_id: "p1", model: "qwen2.5-7b-instruct" });
  });
});
