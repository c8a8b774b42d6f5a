/**
 * Chat parameters (temperature, max tokens, system prompt): an open chat's own, or the
 * defaults new chats start from (saved per user); and presets to apply or save.
 */
import { useEffect, useState, type ReactNode } from "react";
import type { Preset } from "../../api/types";
import type { ChatParams, ParamsScope } from "./useChatParams";
import { LIMITS, MAX_PRESETS, type SyncState } from "./usePreferences";
import "./settings.css";

const SYNC_TEXT: Record<SyncState, string> = {
  loading: "Loading…",
  synced: "Saved to your account",
  saving: "Saving…",
  offline: "Saved on this device (the server is unreachable)",
  "local-only": "Saved on this device",
};

interface SettingsPanelProps {
  id: string;
  settings: ChatParams;
  sync: SyncState;
  onChange: (patch: Partial<ChatParams>) => void;
  /** "chat": the open chat's own parameters; "defaults": what new chats start with. */
  scope?: ParamsScope;
  /** Replaces the preferences' sync state (an open chat saves to the conversation). */
  statusText?: string;
  presets?: Preset[];
  onApplyPreset?: (preset: Preset) => void;
  onSavePreset?: (name: string) => void;
  onDeletePreset?: (name: string) => void;
  onClose: () => void;
  /** The chosen model's limit for max tokens (its context length, at most the API's 32 768). */
  maxTokensLimit: number;
  /** Where that limit comes from, for the hint ("qwen2.5-7b-instruct, 32 768-token context"). */
  limitSource?: string | null;
}

/** A number between bounds, and what takes a new one. */
interface NumberProps {
  id: string;
  label: string;
  value: number;
  min: number;
  max: number;
  step: number;
  onValue: (v: number) => void;
}

/** A number field that lets the user type freely and commits a valid value. */
function NumberField({ id, value, min, max, step, onValue, label }: NumberProps) {
  const [draft, setDraft] = useState(String(value));
  useEffect(() => setDraft(String(value)), [value]);
  const commit = () => {
    const n = Number(draft);
    if (draft.trim() === "" || !Number.isFinite(n)) setDraft(String(value));
    else onValue(Math.min(max, Math.max(min, n)));
  };
  return (
    <input
      id={id}
      aria-label={label}
      type="number"
      inputMode="decimal"
      min={min}
      max={max}
      step={step}
      value={draft}
      onChange={(e) => {
        setDraft(e.target.value);
        const n = Number(e.target.value);
        if (e.target.value !== "" && Number.isFinite(n) && n >= min && n <= max) onValue(n);
      }}
      onBlur={commit}
    />
  );
}

/** A slider with its number beside the label (`<id>-number`) and a hint under it. */
function RangeField({ id, label, value, min, max, step, onValue, hint }: NumberProps & { hint: ReactNode }) {
  return (
    <div className="field">
      <div className="field-label">
        <label htmlFor={id}>{label}</label>
        <NumberField
          id={`${id}-number`}
          label={`${label} value`}
          value={value}
          min={min}
          max={max}
          step={step}
          onValue={onValue}
        />
      </div>
      <input
        id={id}
        type="range"
        min={min}
        max={max}
        step={step}
        value={value}
        onChange={(e) => onValue(Number(e.target.value))}
        aria-describedby={`${id}-hint`}
      />
      <p id={`${id}-hint`} className="hint">
        {hint}
      </p>
    </div>
  );
}

export function SettingsPanel({
  id,
  settings,
  sync,
  onChange,
  onClose,
  maxTokensLimit,
  limitSource,
  scope = "defaults",
  statusText,
  presets = [],
  onApplyPreset,
  onSavePreset,
  onDeletePreset,
}: SettingsPanelProps) {
  const [chosen, setChosen] = useState("");
  const [naming, setNaming] = useState<string | null>(null);
  const preset = presets.find((p) => p.name === chosen);
  const t = LIMITS.temperature;
  const m = { min: LIMITS.max_tokens.min, max: Math.max(LIMITS.max_tokens.min, maxTokensLimit) };
  const shownMax = Math.min(settings.max_tokens, m.max);
  return (
    <section
      id={id}
      className="settings-panel"
      aria-labelledby="settings-title"
      onKeyDown={(e) => {
        if (e.key === "Escape") {
          e.stopPropagation(); // closes the panel only (Escape elsewhere stops an answer)
          onClose();
        }
      }}
    >
      <div className="settings-head">
        <h2 id="settings-title">{scope === "chat" ? "This chat's settings" : "Settings for new chats"}</h2>
        <span className="sync-state" role="status" data-testid="settings-sync">
          {statusText ?? SYNC_TEXT[sync]}
        </span>
      </div>
      {onApplyPreset && (
        <div className="presets" role="group" aria-label="Presets">
          <label htmlFor="preset-select">Preset</label>
          <select id="preset-select" value={chosen} onChange={(e) => setChosen(e.target.value)}>
            <option value="">{presets.length ? "Choose a preset…" : "No presets yet"}</option>
            {presets.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
          <button type="button" className="ghost small" disabled={!preset} onClick={() => preset && onApplyPreset(preset)}>
            Apply
          </button>
          <button
            type="button"
            className="ghost small"
            disabled={!preset}
            onClick={() => {
              if (preset) onDeletePreset?.(preset.name);
              setChosen("");
            }}
          >
            Delete
          </button>
          {naming === null ? (
            <button
              type="button"
              className="ghost small"
              disabled={presets.length >= MAX_PRESETS}
              title={presets.length >= MAX_PRESETS ? `At most ${MAX_PRESETS} presets` : undefined}
              onClick={() => setNaming("")}
            >
              Save as preset…
            </button>
          ) : (
            <form
              className="preset-name"
              onSubmit={(e) => {
                e.preventDefault();
                const name = naming.trim();
                if (!name) return;
                onSavePreset?.(name);
                setChosen(name);
                setNaming(null);
              }}
            >
              <label className="visually-hidden" htmlFor="preset-name">
                Preset name
              </label>
              <input
                id="preset-name"
                autoFocus
                maxLength={60}
                value={naming}
                placeholder="Preset name"
                onChange={(e) => setNaming(e.target.value)}
              />
              <button type="submit" className="primary small" disabled={!naming.trim()}>
                Save
              </button>
            </form>
          )}
        </div>
      )}
      <div className="settings-grid">
        <RangeField
          id="temperature"
          label="Temperature"
          value={settings.temperature}
          min={t.min}
          max={t.max}
          step={t.step}
          onValue={(v) => onChange({ temperature: v })}
          hint="0 = focused and repeatable, 2 = most random."
        />
        <RangeField
          id="max-tokens"
          label="Max tokens"
          value={shownMax}
          min={m.min}
          max={m.max}
          step={1}
          onValue={(v) => onChange({ max_tokens: Math.round(v) })}
          hint={
            <>
              Longest answer, up to {m.max.toLocaleString("en")} tokens
              {limitSource ? ` (${limitSource})` : ""}; the question shares the same context.
            </>
          }
        />
        <div className="field wide">
          <label htmlFor="system-prompt">System prompt</label>
          <textarea
            id="system-prompt"
            rows={3}
            value={settings.system_prompt}
            placeholder="e.g. You are a concise assistant."
            onChange={(e) => onChange({ system_prompt: e.target.value })}
          />
        </div>
      </div>
    </section>
  );
}
