/** The provider form's accounting part: watts per busy instance (energy) and per-model shadow
 * prices (what the tokens would have cost at a cloud model's rates, USD per million tokens). */
import type { ProviderPublic } from "../../api/types";
import { EditableRows } from "./FormParts";
import "./provider-form.css";

export interface PriceRow {
  model: string;
  input: string;
  output: string;
}

export interface AccountingDraft {
  watts: string;
  prices: PriceRow[];
}

export function accountingDraft(initial: ProviderPublic | null): AccountingDraft {
  return {
    watts: initial?.watts_per_instance == null ? "" : String(initial.watts_per_instance),
    prices: Object.entries(initial?.model_prices ?? {}).map(([model, p]) => ({
      model,
      input: String(p.input_per_mtok),
      output: String(p.output_per_mtok),
    })),
  };
}

/** The API's fields: null clears them. Numbers are the server's to validate (it answers a
 * 422 naming the field), so a typo is reported, not silently dropped. */
export function accountingBody(draft: AccountingDraft) {
  const rows = draft.prices.filter((row) => row.model.trim());
  const number = (text: string) => (text.trim() === "" ? Number.NaN : Number(text));
  return {
    watts_per_instance: draft.watts.trim() === "" ? null : Number(draft.watts),
    model_prices: rows.length
      ? Object.fromEntries(
          rows.map((row) => [
            row.model.trim(),
            { input_per_mtok: number(row.input), output_per_mtok: number(row.output) },
          ]),
        )
      : null,
  };
}

export function AccountingFields({
  prefix,
  draft,
  onChange,
}: {
  prefix: string;
  draft: AccountingDraft;
  onChange: (draft: AccountingDraft) => void;
}) {
  return (
    <fieldset className="field wide provider-fieldset">
      <legend>Accounting</legend>
      <div className="field">
        <label htmlFor={`${prefix}-watts`}>Watts per instance</label>
        <input
          id={`${prefix}-watts`}
          type="number"
          min={0}
          step="any"
          inputMode="decimal"
          placeholder="optional"
          value={draft.watts}
          onChange={(e) => onChange({ ...draft, watts: e.target.value })}
          aria-describedby={`${prefix}-watts-hint`}
        />
        <p id={`${prefix}-watts-hint`} className="hint">
          Power of one busy instance: energy = GPU-seconds × watts.
        </p>
      </div>
      <p className="hint">Shadow prices (USD per million tokens, e.g. a cloud model's list price):</p>
      <EditableRows
        rows={draft.prices}
        onChange={(prices) => onChange({ ...draft, prices })}
        className="price-row"
        groupLabel={(index) => `Price ${index + 1}`}
        removeLabel={(row) => `Remove the price of ${row.model || "this model"}`}
        addLabel="Add a price"
        newRow={() => ({ model: "", input: "", output: "" })}
      >
        {(row, set) => (
          <>
            <input
              aria-label="Model id"
              placeholder="model id"
              value={row.model}
              onChange={(e) => set({ model: e.target.value })}
            />
            {(["input", "output"] as const).map((side) => (
              <input
                key={side}
                aria-label={`${side === "input" ? "Input" : "Output"} price per million tokens`}
                type="number"
                min={0}
                step="any"
                placeholder={side}
                value={row[side]}
                onChange={(e) => set({ [side]: e.target.value })}
              />
            ))}
          </>
        )}
      </EditableRows>
    </fieldset>
  );
}
