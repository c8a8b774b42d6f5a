/** Provider management: list, add, edit (API key write-only), test, delete, activate. */
import { useState, type ReactNode } from "react";
import { errorMessage } from "../../api/client";
import type {
  Me,
  ProviderCreate,
  ProviderKind,
  ProviderPublic,
  ProviderTestResult,
  ProviderUpdate,
} from "../../api/types";
import { InlineError } from "../../ui/ErrorText";
import { Modal } from "../../ui/Modal";
import { AccountingFields, accountingBody, accountingDraft, type AccountingDraft } from "./AccountingFields";
import { FallbackFields, fallbacksBody, fallbacksDraft, type FallbackRow } from "./FallbackFields";
import { DeleteButtons, FormFooter, ScopeField, useDraftForm, type Scope } from "./FormParts";
import { StatusPill } from "./ProviderStatus";
import type { ProviderHealth } from "./useProviders";

const KINDS = [
  { value: "lmstudio", label: "LM Studio" },
  { value: "openai_compatible", label: "OpenAI-compatible" },
  { value: "openai", label: "OpenAI" },
];

/** The built-ins above, then any plugin kinds the gateway reports (`/llm-providers/kinds`). */
function kindOptions(kinds: ProviderKind[] | null | undefined) {
  const plugins = (kinds ?? []).filter((k) => !KINDS.some((b) => b.value === k.kind));
  return [...KINDS, ...plugins.map((k) => ({ value: k.kind, label: `${k.kind} (plugin)` }))];
}

/** Whose provider it is, as the viewer sees it (an admin also sees other users' private ones). */
export function scopeLabel(provider: ProviderPublic, me: Me): string {
  if (provider.scope === "global") return "global";
  if (provider.owner_id === me.user_id) return "mine";
  return "another user's";
}

interface ProvidersApi {
  providers: ProviderPublic[];
  health: Record<string, ProviderHealth>;
  activeId: string | null | undefined;
  test: (id: string) => Promise<ProviderTestResult | null>;
  activate: (id: string, scope?: "user" | "global") => Promise<boolean>;
  create: (body: ProviderCreate) => Promise<ProviderPublic>;
  update: (id: string, body: ProviderUpdate) => Promise<ProviderPublic>;
  remove: (id: string) => Promise<void>;
}

type Draft = {
  name: string;
  kind: string;
  base_url: string;
  api_key: string;
  default_model: string;
  enabled: boolean;
  scope: Scope;
  accounting: AccountingDraft;
  fallbacks: FallbackRow[];
};

function ProviderForm({
  me,
  initial,
  providers,
  onSave,
  onCancel,
  kinds,
}: {
  me: Me;
  kinds?: ProviderKind[] | null;
  initial: ProviderPublic | null;
  /** Those a fallback may name. */
  providers: ProviderPublic[];
  onSave: (draft: Draft) => Promise<void>;
  onCancel: () => void;
}) {
  const { draft, set, error, busy, submit } = useDraftForm<Draft>(
    () => ({
      name: initial?.name ?? "",
      kind: initial?.kind ?? "lmstudio",
      base_url: initial?.base_url ?? "http://localhost:1234/v1",
      api_key: "",
      default_model: initial?.default_model ?? "",
      enabled: initial?.enabled ?? true,
      scope: me.role === "admin" ? "global" : "user",
      accounting: accountingDraft(initial),
      fallbacks: fallbacksDraft(initial),
    }),
    onSave,
  );
  const prefix = initial ? `edit-${initial.id}` : "new";
  return (
    <form className="provider-form" onSubmit={submit} aria-label={initial ? "Edit provider" : "Add provider"}>
      <div className="form-grid">
        <div className="field">
          <label htmlFor={`${prefix}-name`}>Name</label>
          <input
            id={`${prefix}-name`}
            required
            maxLength={100}
            value={draft.name}
            onChange={(e) => set({ name: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${prefix}-kind`}>Kind</label>
          <select id={`${prefix}-kind`} value={draft.kind} onChange={(e) => set({ kind: e.target.value })}>
            {kindOptions(kinds).map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field wide">
          <label htmlFor={`${prefix}-url`}>Base URL</label>
          <input
            id={`${prefix}-url`}
            required
            type="url"
            inputMode="url"
            value={draft.base_url}
            onChange={(e) => set({ base_url: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${prefix}-key`}>API key</label>
          <input
            id={`${prefix}-key`}
            type="password"
            autoComplete="off"
            value={draft.api_key}
            placeholder={initial?.has_api_key ? `${initial.api_key ?? "stored"} (keep)` : "optional"}
            onChange={(e) => set({ api_key: e.target.value })}
            aria-describedby={`${prefix}-key-hint`}
          />
          <p id={`${prefix}-key-hint`} className="hint">
            Write-only: the gateway never shows it again.
            {initial?.has_api_key ? " Leave empty to keep the stored key." : ""}
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${prefix}-model`}>Default model</label>
          <input
            id={`${prefix}-model`}
            value={draft.default_model}
            placeholder="optional"
            onChange={(e) => set({ default_model: e.target.value })}
          />
        </div>
        {!initial && me.role === "admin" && (
          <ScopeField
            id={`${prefix}-scope`}
            label="Visible to"
            value={draft.scope}
            onChange={(scope) => set({ scope })}
          />
        )}
        <AccountingFields prefix={prefix} draft={draft.accounting} onChange={(accounting) => set({ accounting })} />
        <FallbackFields
          prefix={prefix}
          rows={draft.fallbacks}
          providers={providers}
          self={initial}
          onChange={(fallbacks) => set({ fallbacks })}
        />
        <div className="field checkbox">
          <input
            id={`${prefix}-enabled`}
            type="checkbox"
            checked={draft.enabled}
            onChange={(e) => set({ enabled: e.target.checked })}
          />
          <label htmlFor={`${prefix}-enabled`}>Enabled</label>
        </div>
      </div>
      <FormFooter error={error} busy={busy} label={initial ? "Save" : "Add provider"} onCancel={onCancel} />
    </form>
  );
}

export function ProvidersDialog({
  me,
  api,
  onClose,
  kinds,
  children,
}: {
  me: Me;
  api: ProvidersApi;
  onClose: () => void;
  kinds?: ProviderKind[] | null;
  /** Shown below the provider list (the model aliases). */
  children?: ReactNode;
}) {
  const [editing, setEditing] = useState<ProviderPublic | "new" | null>(null);
  const [results, setResults] = useState<Record<string, string>>({});
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const canEdit = (p: ProviderPublic) => me.role === "admin" || p.owner_id === me.user_id;

  const save = async (draft: Draft) => {
    const common = {
      name: draft.name.trim(),
      kind: draft.kind,
      base_url: draft.base_url.trim(),
      default_model: draft.default_model.trim() || null,
      enabled: draft.enabled,
      ...accountingBody(draft.accounting),
      fallbacks: fallbacksBody(draft.fallbacks),
    };
    if (editing === "new") {
      const body: ProviderCreate = { ...common };
      if (draft.api_key) body.api_key = draft.api_key;
      if (me.role === "admin") body.scope = draft.scope;
      await api.create(body);
    } else if (editing) {
      const body: ProviderUpdate = { ...common };
      if (draft.api_key) body.api_key = draft.api_key;
      await api.update(editing.id, body);
    }
    setEditing(null);
  };

  const run = async (label: string, action: () => Promise<unknown>) => {
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(`${label}: ${errorMessage(err)}`);
    }
  };

  return (
    <Modal title="Providers" onClose={onClose} wide>
      {editing ? (
        <ProviderForm
          me={me}
          kinds={kinds}
          initial={editing === "new" ? null : editing}
          providers={api.providers}
          onSave={save}
          onCancel={() => setEditing(null)}
        />
      ) : (
        <>
          <p className="muted small">
            {me.role === "admin"
              ? "As an admin you manage the global providers; everyone can add their own."
              : "Add your own providers; global ones are managed by an admin."}
          </p>
          <InlineError message={error} />
          <ul className="provider-list">
            {api.providers.map((p) => (
              <li key={p.id} className="provider-row">
                <div className="provider-main">
                  <div className="provider-name">
                    <strong>{p.name}</strong>
                    {p.id === api.activeId && <span className="badge ok">active</span>}
                    <span className="badge">{scopeLabel(p, me)}</span>
                    {!p.enabled && <span className="badge muted">disabled</span>}
                    <StatusPill health={api.health[p.id]} />
                  </div>
                  <div className="provider-meta">
                    {p.kind} · {p.base_url}
                    {p.has_api_key && <> · key {p.api_key}</>}
                  </div>
                  {results[p.id] && (
                    <div className="provider-meta" role="status">
                      {results[p.id]}
                    </div>
                  )}
                </div>
                <div className="provider-actions">
                  <button
                    type="button"
                    className="ghost small"
                    onClick={() =>
                      void run("Test", async () => {
                        const r = await api.test(p.id);
                        setResults((all) => ({
                          ...all,
                          [p.id]: r ? `${r.message} (${Math.round(r.latency_ms)} ms)` : "test failed",
                        }));
                      })
                    }
                  >
                    Test
                  </button>
                  {p.id !== api.activeId && p.enabled && (
                    <button
                      type="button"
                      className="ghost small"
                      onClick={() => void run("Activate", () => api.activate(p.id, "user"))}
                    >
                      Use
                    </button>
                  )}
                  {me.role === "admin" && p.scope === "global" && p.enabled && (
                    <button
                      type="button"
                      className="ghost small"
                      title="Make it the default for everyone"
                      onClick={() => void run("Activate", () => api.activate(p.id, "global"))}
                    >
                      Default for all
                    </button>
                  )}
                  {canEdit(p) && (
                    <button type="button" className="ghost small" onClick={() => setEditing(p)}>
                      Edit
                    </button>
                  )}
                  {canEdit(p) && (
                    <DeleteButtons
                      name={p.name}
                      label={`Delete ${p.name}`}
                      confirming={confirmDelete === p.id}
                      onAsk={() => setConfirmDelete(p.id)}
                      onDelete={() => void run("Delete", () => api.remove(p.id))}
                      onKeep={() => setConfirmDelete(null)}
                    />
                  )}
                </div>
              </li>
            ))}
          </ul>
          <div className="form-actions">
            <button type="button" className="primary" onClick={() => setEditing("new")}>
              Add provider
            </button>
          </div>
          {children}
        </>
      )}
    </Modal>
  );
}
