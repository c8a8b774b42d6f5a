/** The provider form's fallbacks: other targets tried in order when this provider fails before
 * the first byte (unreachable, 5xx, GPU queue full or timed out, model not loadable). Each names
 * another provider (the same model), another model (on this provider), or both. */
import type { Fallback, ProviderPublic } from "../../api/types";
import { EditableRows } from "./FormParts";
import "./provider-form.css";

/** The server's limit on one provider's list. */
export const MAX_FALLBACKS = 8;

/** `provider`: a provider's id or name as stored ("" = this provider); `model`: "" = the request's. */
export interface FallbackRow {
  provider: string;
  model: string;
}

export function fallbacksDraft(initial: ProviderPublic | null): FallbackRow[] {
  return (initial?.fallbacks ?? []).map((f) => ({ provider: f.provider ?? "", model: f.model ?? "" }));
}

/** The API's list, in order: a row naming neither a provider nor a model (nothing to try
 * but this provider itself) is dropped, like a price without a model. [] clears them. */
export function fallbacksBody(rows: FallbackRow[]): Fallback[] {
  return rows
    .map((row) => ({ provider: row.provider || null, model: row.model.trim() || null }))
    .filter((f) => f.provider !== null || f.model !== null);
}

/** The other providers a row may name: by id, or by the name it was stored with; one the
 * viewer cannot see keeps its reference (so saving the form does not drop it). A reference to
 * the provider itself shows as "This provider" (the same target). */
function providerOptions(others: ProviderPublic[], self: ProviderPublic | null, current: string) {
  const options = others.map((p) => ({ value: current === p.name ? p.name : p.id, label: p.name }));
  const isSelf = !!self && (current === self.id || current === self.name);
  if (current && !isSelf && !options.some((o) => o.value === current))
    options.push({ value: current, label: `${current} (not visible)` });
  return options;
}

export function FallbackFields({
  prefix,
  rows,
  providers,
  self,
  onChange,
}: {
  prefix: string;
  rows: FallbackRow[];
  providers: ProviderPublic[];
  /** The provider being edited (null: a new one): "This provider" stands for it. */
  self: ProviderPublic | null;
  onChange: (rows: FallbackRow[]) => void;
}) {
  const others = providers.filter((p) => p.id !== self?.id);
  const moveUp = (index: number) =>
    onChange(rows.map((row, i) => (i === index - 1 ? rows[index] : i === index ? rows[index - 1] : row)));
  return (
    <fieldset className="field wide provider-fieldset">
      <legend>Fallbacks</legend>
      <p id={`${prefix}-fallbacks-hint`} className="hint">
        Tried in order when this provider fails before the first token (unreachable, a 5xx, a full or
        timed-out queue, a model it cannot load).
      </p>
      <EditableRows
        rows={rows}
        onChange={onChange}
        className="fallback-row"
        groupLabel={(index) => `Fallback ${index + 1}`}
        removeLabel={(_, index) => `Remove fallback ${index + 1}`}
        addLabel="Add a fallback"
        newRow={() => ({ provider: others[0]?.id ?? "", model: "" })}
        max={MAX_FALLBACKS}
        addDescribedBy={`${prefix}-fallbacks-hint`}
      >
        {(row, set, index) => (
          <>
            <select aria-label="Fallback provider" value={row.provider} onChange={(e) => set({ provider: e.target.value })}>
              <option value="">This provider</option>
              {providerOptions(others, self, row.provider).map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
            <input
              aria-label="Fallback model"
              placeholder="the request's model"
              maxLength={256}
              value={row.model}
              onChange={(e) => set({ model: e.target.value })}
            />
            <button
              type="button"
              className="ghost small"
              aria-label={`Try fallback ${index + 1} earlier`}
              disabled={index === 0}
              onClick={() => moveUp(index)}
            >
              Up
            </button>
          </>
        )}
      </EditableRows>
    </fieldset>
  );
}
