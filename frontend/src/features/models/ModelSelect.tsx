/**
 * The model picker: chat models of the active provider. Where the provider reports load
 * state the loaded ones come first, grouped; the state itself is shown once, beside the
 * picker (ModelLoadControls), not in every option.
 */
import type { ModelInfo } from "../../api/types";
import { isLoaded, reportsState } from "./useModels";

export function formatContext(tokens: number | null | undefined): string | null {
  if (!tokens) return null;
  if (tokens >= 1024 && tokens % 1024 === 0) return `${tokens / 1024}k ctx`;
  if (tokens >= 1000) return `${Math.round(tokens / 1000)}k ctx`;
  return `${tokens} ctx`;
}

export function modelLabel(model: ModelInfo): string {
  const parts = [model.id];
  if (model.type) parts.push(model.type);
  const ctx = formatContext(model.max_context_length);
  if (ctx) parts.push(ctx);
  return parts.join(" · ");
}

interface ModelSelectProps {
  models: ModelInfo[];
  value: string | null;
  onChange: (id: string) => void;
  loading: boolean;
  error: string | null;
}

export function ModelSelect({ models, value, onChange, loading, error }: ModelSelectProps) {
  const grouped = models.some(reportsState);
  const loaded = models.filter(isLoaded);
  const others = models.filter((m) => !isLoaded(m));
  const selected = models.find((m) => m.id === value) ?? null;
  const empty = !models.length;
  const option = (m: ModelInfo) => (
    <option key={m.id} value={m.id}>
      {modelLabel(m)}
    </option>
  );
  return (
    <div className="model-select">
      <label htmlFor="model-select" className="visually-hidden">
        Model
      </label>
      <select
        id="model-select"
        value={selected ? selected.id : ""}
        onChange={(e) => onChange(e.target.value)}
        disabled={empty}
        aria-busy={loading || undefined}
        aria-describedby={error ? "model-error" : undefined}
        title={selected ? modelLabel(selected) : (error ?? undefined)}
      >
        {empty && <option value="">{loading ? "Loading models…" : "No chat models"}</option>}
        {grouped ? (
          <>
            {loaded.length > 0 && <optgroup label="Loaded">{loaded.map(option)}</optgroup>}
            {others.length > 0 && <optgroup label="Not loaded">{others.map(option)}</optgroup>}
          </>
        ) : (
          models.map(option)
        )}
      </select>
      {error && empty && (
        <span id="model-error" className="visually-hidden">
          {error}
        </span>
      )}
    </div>
  );
}
