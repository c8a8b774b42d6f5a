/**
 * The model picker: chat models of the active provider. Where the provider reports load
 * state the loaded ones come first, grouped; the state itself is shown once, beside the
 * picker (ModelLoadControls), not in every option. The model aliases the caller may use
 * follow in their own group, each with what it stands for.
 */
import type { AliasEntry, ModelInfo } from "../../api/types";
import { isLoaded, reportsState } from "./useModels";

export function formatContext(tokens: number | null | undefined): string | null {
  if (!tokens) return null;
  if (tokens >= 1024 && tokens % 1024 === 0) return `${tokens / 1024}k ctx`;
  if (tokens >= 1000) return `${Math.round(tokens / 1000)}k ctx`;
  return `${tokens} ctx`;
}

export function aliasLabel(alias: AliasEntry): string {
  const target = alias.provider_name ? `${alias.provider_name}/${alias.model}` : alias.model;
  return `${alias.name} → ${target}`;
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
  aliases?: AliasEntry[];
  value: string | null;
  onChange: (id: string) => void;
  loading: boolean;
  error: string | null;
}

export function ModelSelect({ models, aliases = [], value, onChange, loading, error }: ModelSelectProps) {
  const grouped = models.some(reportsState) || aliases.length > 0;
  const loaded = models.filter(isLoaded);
  const others = models.filter((m) => !isLoaded(m));
  const listed = aliases.filter((a) => !models.some((m) => m.id === a.name));
  const selectedModel = models.find((m) => m.id === value) ?? null;
  const selectedAlias = selectedModel ? null : (listed.find((a) => a.name === value) ?? null);
  const selectedId = selectedModel?.id ?? selectedAlias?.name ?? null;
  const selectedLabel = selectedModel ? modelLabel(selectedModel) : selectedAlias ? aliasLabel(selectedAlias) : null;
  const empty = !models.length && !listed.length;
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
        value={selectedId ?? ""}
        onChange={(e) => onChange(e.target.value)}
        disabled={empty}
        aria-busy={loading || undefined}
        aria-describedby={error ? "model-error" : undefined}
        title={selectedLabel ?? error ?? undefined}
      >
        {empty && <option value="">{loading ? "Loading models…" : "No chat models"}</option>}
        {grouped && models.some(reportsState) ? (
          <>
            {loaded.length > 0 && <optgroup label="Loaded">{loaded.map(option)}</optgroup>}
            {others.length > 0 && <optgroup label="Not loaded">{others.map(option)}</optgroup>}
          </>
        ) : grouped ? (
          models.length > 0 && <optgroup label="Models">{models.map(option)}</optgroup>
        ) : (
          models.map(option)
        )}
        {listed.length > 0 && (
          <optgroup label="Aliases">
            {listed.map((a) => (
              <option key={`alias:${a.name}`} value={a.name}>
                {aliasLabel(a)}
              </option>
            ))}
          </optgroup>
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
