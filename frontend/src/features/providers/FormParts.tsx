/** What the provider and alias forms and lists share: a draft saved by a submit that shows
 * the server's refusal, the scope choice, the Cancel/Save row, the two-step Delete, and a
 * list of rows to add to and remove from (model prices, fallbacks). */
import { useState, type FormEvent, type ReactNode } from "react";
import { errorMessage } from "../../api/client";
import { InlineError } from "../../ui/ErrorText";

export type Scope = "global" | "user";

/** A form's draft (`set` merges a patch) and its submit: busy while `onSave` runs, its error
 * shown (the form stays open) when it throws. */
export function useDraftForm<T extends object>(initial: () => T, onSave: (draft: T) => Promise<void>) {
  const [draft, setDraft] = useState<T>(initial);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<T>) => setDraft((d) => ({ ...d, ...patch }));
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSave(draft);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return { draft, set, error, busy, submit };
}

/** Who a new provider or alias is for (an admin's choice). */
export function ScopeField({
  id,
  label,
  value,
  onChange,
}: {
  id: string;
  label: string;
  value: Scope;
  onChange: (scope: Scope) => void;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value as Scope)}>
        <option value="global">Everyone (global)</option>
        <option value="user">Only me</option>
      </select>
    </div>
  );
}

/** The form's error, then Cancel and the submit button ("Saving…" while busy). */
export function FormFooter({
  error,
  busy,
  disabled = false,
  label,
  onCancel,
}: {
  error: string | null;
  busy: boolean;
  disabled?: boolean;
  label: string;
  onCancel: () => void;
}) {
  return (
    <>
      <InlineError message={error} />
      <div className="form-actions">
        <button type="button" className="ghost" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy || disabled}>
          {busy ? "Saving…" : label}
        </button>
      </div>
    </>
  );
}

/** Delete, then "Delete <name>" / Keep to confirm it. */
export function DeleteButtons({
  name,
  label,
  confirming,
  onAsk,
  onDelete,
  onKeep,
}: {
  name: string;
  /** The first button's accessible name ("Delete alias x"). */
  label: string;
  confirming: boolean;
  onAsk: () => void;
  onDelete: () => void;
  onKeep: () => void;
}) {
  if (!confirming)
    return (
      <button type="button" className="ghost small" aria-label={label} onClick={onAsk}>
        Delete
      </button>
    );
  return (
    <>
      <button type="button" className="danger small" onClick={onDelete}>
        Delete {name}
      </button>
      <button type="button" className="ghost small" onClick={onKeep}>
        Keep
      </button>
    </>
  );
}

/** Editable rows, each a labelled group with its fields (`children`) and Remove, then Add. */
export function EditableRows<T>({
  rows,
  onChange,
  className,
  groupLabel,
  removeLabel,
  addLabel,
  newRow,
  max,
  addDescribedBy,
  children,
}: {
  rows: T[];
  onChange: (rows: T[]) => void;
  /** The row's layout. */
  className: string;
  groupLabel: (index: number) => string;
  removeLabel: (row: T, index: number) => string;
  addLabel: string;
  newRow: () => T;
  /** No Add past this many rows. */
  max?: number;
  addDescribedBy?: string;
  children: (row: T, set: (patch: Partial<T>) => void, index: number) => ReactNode;
}) {
  const setRow = (index: number) => (patch: Partial<T>) =>
    onChange(rows.map((row, i) => (i === index ? { ...row, ...patch } : row)));
  return (
    <>
      {rows.map((row, index) => (
        <div className={className} key={index} role="group" aria-label={groupLabel(index)}>
          {children(row, setRow(index), index)}
          <button
            type="button"
            className="ghost small"
            aria-label={removeLabel(row, index)}
            onClick={() => onChange(rows.filter((_, i) => i !== index))}
          >
            Remove
          </button>
        </div>
      ))}
      <button
        type="button"
        className="ghost small"
        disabled={max !== undefined && rows.length >= max}
        aria-describedby={addDescribedBy}
        onClick={() => onChange([...rows, newRow()])}
      >
        {addLabel}
      </button>
    </>
  );
}
