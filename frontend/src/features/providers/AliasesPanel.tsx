/**
 * Model aliases in the Providers dialog: list, add, edit, delete. An alias is a name clients
 * send as `model` (Claude Code's `claude-sonnet-4-5`, Codex's `gpt-5-codex`, or `default`)
 * that the gateway routes to a provider's model; a name ending in `*` matches by prefix.
 * Admins manage the global ones; everyone may add their own, which win over a global one of
 * the same name.
 */
import { useState } from "react";
import type { ApiClient } from "../../api/client";
import { errorMessage } from "../../api/client";
import type { AliasPublic, Me, ProviderPublic } from "../../api/types";
import { InlineError } from "../../ui/ErrorText";
import { useModels } from "../models/useModels";
import { DeleteButtons, FormFooter, ScopeField, useDraftForm, type Scope } from "./FormParts";
import { useAliases, type AliasesApi } from "./useAliases";

type Draft = { name: string; provider_id: string; model: string; scope: Scope };

/** Whose alias it is, as the viewer sees it. */
export function aliasScope(alias: AliasPublic, me: Me): string {
  if (alias.scope === "global") return "global";
  return alias.owner_id === me.user_id ? "mine" : "another user's";
}

function AliasForm({
  me,
  client,
  providers,
  initial,
  onSave,
  onCancel,
}: {
  me: Me;
  client: ApiClient;
  providers: ProviderPublic[];
  initial: AliasPublic | null;
  onSave: (draft: Draft) => Promise<void>;
  onCancel: () => void;
}) {
  const usable = providers.filter((p) => p.enabled);
  const { draft, set, error, busy, submit } = useDraftForm<Draft>(
    () => ({
      name: initial?.name ?? "",
      provider_id: initial?.provider_id ?? usable[0]?.id ?? "",
      model: initial?.model ?? "",
      scope: me.role === "admin" ? "global" : "user",
    }),
    onSave,
  );
  const suggestions = useModels(client, draft.provider_id || undefined, 0);
  const prefix = initial ? `alias-${initial.id}` : "alias-new";
  return (
    <form className="provider-form" onSubmit={submit} aria-label={initial ? "Edit alias" : "Add alias"}>
      <div className="form-grid">
        <div className="field">
          <label htmlFor={`${prefix}-name`}>Alias</label>
          <input
            id={`${prefix}-name`}
            required
            maxLength={128}
            placeholder="claude-sonnet-4-5"
            value={draft.name}
            onChange={(e) => set({ name: e.target.value })}
            aria-describedby={`${prefix}-name-hint`}
          />
          <p id={`${prefix}-name-hint`} className="hint">
            The name clients send as the model; end it with * to match a prefix.
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${prefix}-provider`}>Provider</label>
          <select
            id={`${prefix}-provider`}
            required
            value={draft.provider_id}
            onChange={(e) => set({ provider_id: e.target.value })}
          >
            {usable.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field wide">
          <label htmlFor={`${prefix}-model`}>Model</label>
          <input
            id={`${prefix}-model`}
            required
            maxLength={256}
            list={`${prefix}-models`}
            value={draft.model}
            onChange={(e) => set({ model: e.target.value })}
          />
          <datalist id={`${prefix}-models`}>
            {suggestions.models.map((m) => (
              <option key={m.id} value={m.id} />
            ))}
          </datalist>
        </div>
        {!initial && me.role === "admin" && (
          <ScopeField id={`${prefix}-scope`} label="For" value={draft.scope} onChange={(scope) => set({ scope })} />
        )}
      </div>
      <FormFooter
        error={error}
        busy={busy}
        disabled={!draft.provider_id}
        label={initial ? "Save alias" : "Add alias"}
        onCancel={onCancel}
      />
    </form>
  );
}

export function AliasesPanel({
  me,
  client,
  api,
  providers,
}: {
  me: Me;
  client: ApiClient;
  api: AliasesApi;
  providers: ProviderPublic[];
}) {
  const [editing, setEditing] = useState<AliasPublic | "new" | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const canEdit = (a: AliasPublic) => me.role === "admin" || a.owner_id === me.user_id;

  const save = async (draft: Draft) => {
    const common = { name: draft.name.trim(), provider_id: draft.provider_id, model: draft.model.trim() };
    const written =
      editing === "new"
        ? await api.create(me.role === "admin" ? { ...common, scope: draft.scope } : common)
        : editing
          ? await api.update(editing.id, common)
          : null;
    setNotice(written?.warnings?.length ? written.warnings.join(" ") : null);
    setEditing(null);
  };

  const remove = async (alias: AliasPublic) => {
    setError(null);
    try {
      await api.remove(alias.id);
      setConfirmDelete(null);
    } catch (err) {
      setError(`Delete: ${errorMessage(err)}`);
    }
  };

  return (
    <section className="aliases" aria-labelledby="aliases-title">
      <h3 id="aliases-title">Model aliases</h3>
      {editing ? (
        <AliasForm
          me={me}
          client={client}
          providers={providers}
          initial={editing === "new" ? null : editing}
          onSave={save}
          onCancel={() => setEditing(null)}
        />
      ) : (
        <>
          <p className="muted small">
            Names like claude-sonnet-4-5 or gpt-5-codex that clients send as the model, routed to a model of
            your choice. Your own aliases win over global ones of the same name.
          </p>
          {notice && (
            <p className="hint" role="status">
              {notice}
            </p>
          )}
          <InlineError message={error} />
          {api.aliases.length === 0 ? (
            <p className="muted small">{api.loading ? "Loading aliases…" : "No aliases yet."}</p>
          ) : (
            <ul className="provider-list" aria-label="Model aliases">
              {api.aliases.map((a) => (
                <li key={a.id} className="provider-row">
                  <div className="provider-main">
                    <div className="provider-name">
                      <strong>{a.name}</strong>
                      <span className="badge">{aliasScope(a, me)}</span>
                    </div>
                    <div className="provider-meta">→ {a.target ?? `${a.provider_id}/${a.model}`}</div>
                  </div>
                  {canEdit(a) && (
                    <div className="provider-actions">
                      <button
                        type="button"
                        className="ghost small"
                        aria-label={`Edit alias ${a.name}`}
                        onClick={() => setEditing(a)}
                      >
                        Edit
                      </button>
                      <DeleteButtons
                        name={a.name}
                        label={`Delete alias ${a.name}`}
                        confirming={confirmDelete === a.id}
                        onAsk={() => setConfirmDelete(a.id)}
                        onDelete={() => void remove(a)}
                        onKeep={() => setConfirmDelete(null)}
                      />
                    </div>
                  )}
                </li>
              ))}
            </ul>
          )}
          <div className="form-actions">
            <button type="button" className="ghost" onClick={() => setEditing("new")}>
              Add alias
            </button>
          </div>
        </>
      )}
    </section>
  );
}

/** The panel with its data: what the Providers dialog renders. */
export function AliasesSection({ me, client, providers }: { me: Me; client: ApiClient; providers: ProviderPublic[] }) {
  const api = useAliases(client);
  return <AliasesPanel me={me} client={client} api={api} providers={providers} />;
}
