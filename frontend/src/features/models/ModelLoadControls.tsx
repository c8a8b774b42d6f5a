/**
 * Next to the model picker: the selected model's load state (only where the provider reports
 * one) and, where the caller may manage the provider (admins; users on their own providers)
 * and its kind can, Load / Unload buttons.
 */
import { useEffect, useState } from "react";
import type { ApiClient } from "../../api/client";
import { errorMessage } from "../../api/client";
import type { Me, ModelInfo, ProviderKind, ProviderPublic } from "../../api/types";
import { loadModel, unloadModel } from "./modelOps";
import { reportsState } from "./useModels";
import "./models.css";

export function canManage(me: Me, provider: ProviderPublic | undefined): boolean {
  if (!provider) return false;
  return me.role === "admin" || provider.owner_id === me.user_id;
}

interface Props {
  client: ApiClient;
  me: Me;
  provider: ProviderPublic | undefined;
  model: ModelInfo | undefined;
  kinds: ProviderKind[] | null;
  /** Called after a load or unload so the model list shows the new state. */
  onChanged: () => void;
}

export function ModelLoadControls({ client, me, provider, model, kinds, onChanged }: Props) {
  const [busy, setBusy] = useState<"load" | "unload" | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => setError(null), [model?.id, provider?.id]);

  if (!model || !provider || !reportsState(model)) return null;
  const loaded = model.state === "loaded";
  const supports = kinds?.find((k) => k.kind === provider.kind)?.supports_load ?? false;
  const allowed = supports && canManage(me, provider);

  async function act(action: "load" | "unload") {
    if (!model || !provider) return;
    setBusy(action);
    setError(null);
    try {
      if (action === "load") await loadModel(client, model.id, provider.id);
      else await unloadModel(client, model.id, provider.id);
      onChanged();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  }

  return (
    <div className="model-ops" data-testid="model-ops">
      <span
        className={`badge ${busy === "load" ? "" : loaded ? "ok" : "muted"}`}
        data-testid="model-state"
        role="status"
      >
        {busy === "load" ? "loading…" : busy === "unload" ? "unloading…" : loaded ? "loaded" : "not loaded"}
      </span>
      {allowed && !loaded && (
        <button
          type="button"
          className="ghost small"
          disabled={busy !== null}
          onClick={() => void act("load")}
          title={`Load ${model.id} into memory now`}
        >
          Load
        </button>
      )}
      {allowed && loaded && (
        <button
          type="button"
          className="ghost small"
          disabled={busy !== null}
          onClick={() => void act("unload")}
          title={`Unload ${model.id} from memory`}
        >
          Unload
        </button>
      )}
      {error && (
        <span className="error-text small" role="alert" title={error}>
          {error}
        </span>
      )}
    </div>
  );
}

/** Shown while waiting for the first token of a model that was not loaded: LM Studio is
 * loading it just in time, which can take a while. */
export function JitLoadingNotice({ model }: { model: string }) {
  return (
    <p className="jit-notice notice" role="status" data-testid="jit-loading">
      <span className="spinner-dot" aria-hidden="true" /> Loading {model}… LM Studio loads it on
      first use; the answer starts once it is in memory.
    </p>
  );
}
