/** Everything the detailed model list says about the chosen model, with its load controls
 * (and, for admins, downloading another model onto the server). */
import type { ReactNode } from "react";
import type { ApiClient } from "../../api/client";
import type { Me, ModelInfo, ProviderKind, ProviderPublic } from "../../api/types";
import { Modal } from "../../ui/Modal";
import { ModelCapacity } from "./ModelCapacity";
import { ModelDownload } from "./ModelDownload";
import { ModelLoadControls } from "./ModelLoadControls";
import { reportsState } from "./useModels";

const TYPE_TEXT: Record<string, string> = {
  llm: "text chat",
  vlm: "text chat, vision (images)",
  embeddings: "embeddings",
};

function tokens(n: number | null | undefined): string | null {
  return n ? `${n.toLocaleString("en")} tokens` : null;
}

export function ModelInfoPanel({
  model,
  provider,
  client,
  me,
  kinds,
  onChanged,
  onRefresh,
  onClose,
}: {
  model: ModelInfo;
  provider: ProviderPublic | undefined;
  client: ApiClient;
  me: Me;
  kinds: ProviderKind[] | null;
  onChanged: () => void;
  onRefresh: () => void;
  onClose: () => void;
}) {
  const rows: [string, ReactNode][] = [
    ["Model", <code key="id">{model.id}</code>],
    ["Provider", provider ? `${provider.name} (${provider.base_url})` : null],
    ["Capabilities", model.type ? (TYPE_TEXT[model.type] ?? model.type) : null],
    ["Context length", tokens(model.max_context_length)],
    ["Loaded with", tokens(model.loaded_context_length)],
    ["Quantisation", model.quantization],
    ["Architecture", model.arch],
    ["Publisher", model.publisher],
    [
      "Load state",
      reportsState(model)
        ? model.state === "loaded"
          ? "loaded in memory"
          : "not loaded (loads on first use)"
        : "not reported by this provider",
    ],
  ];
  return (
    <Modal title="Model details" onClose={onClose} className="model-info">
      <dl className="model-facts" data-testid="model-info">
        {rows
          .filter(([, value]) => value != null && value !== "")
          .map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
      </dl>
      <ModelCapacity client={client} provider={provider?.name} model={model.id} />
      <div className="form-actions">
        <ModelLoadControls client={client} me={me} provider={provider} model={model} kinds={kinds} onChanged={onChanged} />
        <button type="button" className="ghost small" onClick={onRefresh}>
          Refresh the model list
        </button>
      </div>
      <ModelDownload client={client} me={me} provider={provider} kinds={kinds} onDownloaded={onChanged} />
    </Modal>
  );
}
