/** The model picker: chat models of the active provider, loaded ones first, with details. */
import type { ModelInfo } from "../types/api";
import { isLoaded } from "../hooks/useModels";
import { RefreshIcon } from "./icons";

export function formatContext(tokens: number | null | undefined): string | null {
  if (!tokens) return null;
  if (tokens >= 1024 && tokens % 1024 === 0) return `${tokens / 1024}k ctx`;
  if (tokens >= 1000) return `${Math.round(tokens / 1000)}k ctx`;
  return `${tokens} ctx`;
}

export function modelLabel(model: ModelInfo): string {
  const parts = [model.id, isLoaded(model) ? "loaded" : "not loaded"];
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
  onRefresh: () => void;
}

export function ModelSelect({ models, value, onChange, loading, error, onRefresh }: ModelSelectProps) {
  const loaded = models.filter(isLoaded);
  const others = models.filter((m) => !isLoaded(m));
  const selected = models.find((m) => m.id === value) ?? null;
  const empty = !models.length;
  return (
    <div className="model-select">
      <label htmlFor="model-select" className="visually-hidden">
        Model
      </label>
      <div className="select-row">
        <select
          id="model-select"
          value={selected ? selected.id : ""}
          onChange={(e) => onChange(e.target.value)}
          disabled={empty}
          aria-describedby="model-details"
          aria-busy={loading || undefined}
        >
          {empty && <option value="">{loading ? "Loading models…" : "No chat models"}</option>}
          {loaded.length > 0 && (
            <optgroup label="Loaded">
              {loaded.map((m) => (
                <option key={m.id} value={m.id}>
                  {modelLabel(m)}
                </option>
              ))}
            </optgroup>
          )}
          {others.length > 0 && (
            <optgroup label="Not loaded (loads on first use)">
              {others.map((m) => (
                <option key={m.id} value={m.id}>
                  {modelLabel(m)}
                </option>
              ))}
            </optgroup>
          )}
        </select>
        <button
          type="button"
          className="icon-button"
          onClick={onRefresh}
          aria-label="Refresh the model list"
          title="Refresh the model list"
        >
          <RefreshIcon size={16} className={loading ? "spin" : undefined} />
        </button>
      </div>
      <p id="model-details" className="model-details" aria-live="polite">
        {selected ? (
          <>
            <span className={`badge ${isLoaded(selected) ? "ok" : "muted"}`}>
              {isLoaded(selected) ? "loaded" : "not loaded"}
            </span>
            {selected.type && <span className="badge">{selected.type}</span>}
            {formatContext(selected.max_context_length) && (
              <span className="badge">{formatContext(selected.max_context_length)}</span>
            )}
            {selected.quantization && <span className="badge">{selected.quantization}</span>}
          </>
        ) : error ? (
          <span className="error-text">{error}</span>
        ) : null}
      </p>
    </div>
  );
}
