/**
 * Side-by-side comparison: one prompt sent to 2–4 provider/model targets at once, each column
 * streaming its answer with time to first token, tokens per second and token count.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import type { ApiClient } from "../../api/client";
import { errorBody } from "../../api/client";
import type { AllModelsAnswer, CompareDone, CompareTarget } from "../../api/types";
import { ErrorText } from "../../ui/ErrorText";
import { Modal } from "../../ui/Modal";
import { Markdown } from "../chat/Markdown";
import { timingParts } from "../chat/Message";
import { isChatModel } from "../models/useModels";
import { runComparison } from "./compare";
import "./compare.css";

export interface Column {
  text: string;
  status: "waiting" | "streaming" | "done" | "error" | "stopped";
  done?: CompareDone;
  error?: { code: string; message: string };
}

export function ColumnStats({ column }: { column: Column }) {
  const parts = timingParts(column.done?.stats, column.done?.usage, column.done?.usage_estimated);
  if (!parts.length) return null;
  return (
    <p className="stats compare-stats" data-testid="compare-stats">
      {parts.map((p) => (
        <span key={p}>{p}</span>
      ))}
    </p>
  );
}

interface Props {
  client: ApiClient;
  temperature: number;
  maxTokens: number;
  initial?: CompareTarget;
  onClose: () => void;
}

export function CompareDialog({ client, temperature, maxTokens, initial, onClose }: Props) {
  const [prompt, setPrompt] = useState("");
  const [chosen, setChosen] = useState<CompareTarget[] | null>(null);
  const [columns, setColumns] = useState<Column[]>([]);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<ReturnType<typeof errorBody> | null>(null);
  const abort = useRef<AbortController | null>(null);
  const [start] = useState(initial); // the target to begin with, fixed when the dialog opens

  const catalogueQuery = useQuery({
    queryKey: ["providers", "status", "detailed"],
    queryFn: () => client.get<AllModelsAnswer>("/api/v1/llm-providers/models/all?detailed=true"),
    staleTime: 30_000,
  });
  const catalogue = useMemo(
    () =>
      (catalogueQuery.data?.providers ?? [])
        .map((p) => ({ ...p, models: p.models.filter(isChatModel) }))
        .filter((p) => p.models.length > 0),
    [catalogueQuery.data],
  );
  // Until the user picks, the targets are the current model and the next one listed.
  const targets = useMemo(() => {
    if (chosen) return chosen;
    const all = catalogue.flatMap((p) => p.models.map((m) => ({ provider: p.provider.name, model: m.id })));
    const first = start && all.some((t) => t.provider === start.provider && t.model === start.model) ? start : all[0];
    const second = all.find((t) => t.provider !== first?.provider || t.model !== first?.model);
    return [first, second ?? first].filter(Boolean) as CompareTarget[];
  }, [catalogue, chosen, start]);
  const setTargets = (change: (list: CompareTarget[]) => CompareTarget[]) => setChosen(change(targets));

  useEffect(() => () => abort.current?.abort(), []);
  const loadError = catalogueQuery.error ? errorBody(catalogueQuery.error) : null;

  const modelsOf = (provider: string) =>
    catalogue.find((p) => p.provider.name === provider)?.models ?? [];

  function setTarget(index: number, change: Partial<CompareTarget>) {
    setTargets((list) =>
      list.map((t, i) => {
        if (i !== index) return t;
        const next = { ...t, ...change };
        if (change.provider && !modelsOf(change.provider).some((m) => m.id === next.model))
          next.model = modelsOf(change.provider)[0]?.id ?? "";
        return next;
      }),
    );
  }

  async function run() {
    if (abort.current) return; // one comparison at a time, whatever the clicks
    const controller = new AbortController();
    abort.current = controller;
    setError(null);
    setRunning(true);
    setColumns(targets.map(() => ({ text: "", status: "waiting" })));
    const update = (i: number, f: (c: Column) => Column) =>
      setColumns((cols) => cols.map((c, j) => (j === i ? f(c) : c)));
    try {
      await runComparison(
        client,
        { prompt, params: { temperature, max_tokens: maxTokens }, targets },
        (e) => {
          if (e.event === "delta")
            update(e.data.target, (c) => ({ ...c, status: "streaming", text: c.text + e.data.text }));
          else if (e.event === "done") update(e.data.target, (c) => ({ ...c, status: "done", done: e.data }));
          else if (e.event === "error") update(e.data.target, (c) => ({ ...c, status: "error", error: e.data }));
        },
        controller.signal,
      );
    } catch (err) {
      if (!controller.signal.aborted) setError(errorBody(err));
    } finally {
      if (controller.signal.aborted)
        setColumns((cols) => cols.map((c) => (c.status === "waiting" || c.status === "streaming" ? { ...c, status: "stopped" } : c)));
      abort.current = null;
      setRunning(false);
    }
  }

  const canRun = !running && prompt.trim() !== "" && targets.length >= 2 && targets.every((t) => t.model);

  return (
    <Modal title="Compare models" onClose={onClose} wide>
      <form
        className="compare-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (canRun) void run();
        }}
      >
        <label htmlFor="compare-prompt">Prompt</label>
        <textarea
          id="compare-prompt"
          rows={3}
          value={prompt}
          onChange={(e) => setPrompt(e.target.value)}
          placeholder="Ask every model the same thing…"
        />
        <div className="compare-targets">
          {targets.map((target, i) => (
            <fieldset key={i} className="compare-target">
              <legend>Model {i + 1}</legend>
              <select
                aria-label={`Provider ${i + 1}`}
                value={target.provider}
                onChange={(e) => setTarget(i, { provider: e.target.value })}
              >
                {catalogue.map((p) => (
                  <option key={p.provider.id} value={p.provider.name}>
                    {p.provider.name}
                  </option>
                ))}
              </select>
              <select
                aria-label={`Model ${i + 1}`}
                value={target.model}
                onChange={(e) => setTarget(i, { model: e.target.value })}
              >
                {modelsOf(target.provider).map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.id}
                    {m.state === "loaded" ? " · loaded" : ""}
                  </option>
                ))}
              </select>
              {targets.length > 2 && (
                <button
                  type="button"
                  className="ghost small"
                  onClick={() => setTargets((l) => l.filter((_, j) => j !== i))}
                  aria-label={`Remove model ${i + 1}`}
                >
                  Remove
                </button>
              )}
            </fieldset>
          ))}
        </div>
        <div className="compare-actions">
          <button
            type="button"
            className="ghost small"
            disabled={targets.length >= 4 || running || !targets.length}
            onClick={() => setTargets((l) => [...l, l[l.length - 1]])}
          >
            Add model
          </button>
          {/* Distinct keys: React replaces the element instead of turning the Stop button
              into the submit button while its click is still being handled (which started
              the comparison again). */}
          {running ? (
            <button key="stop" type="button" className="danger small" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          ) : (
            <button key="run" type="submit" className="primary small" disabled={!canRun}>
              Compare
            </button>
          )}
        </div>
        {(error ?? loadError) && <ErrorText error={(error ?? loadError)!} />}
      </form>
      {columns.length > 0 && (
        <div className={`compare-grid cols-${columns.length}`} data-testid="compare-grid">
          {columns.map((column, i) => (
            <section key={i} className="compare-column" aria-label={`Answer ${i + 1}`} data-status={column.status}>
              <header className="compare-column-head">
                <strong>{targets[i]?.model}</strong>
                <span className="muted small">{targets[i]?.provider}</span>
              </header>
              <div className="compare-text">
                {column.text ? (
                  <Markdown text={column.text} />
                ) : column.status === "waiting" && running ? (
                  <p className="muted small">waiting for the first token…</p>
                ) : null}
                {column.status === "stopped" && <p className="notice">Stopped.</p>}
                {column.error && <ErrorText error={column.error} />}
              </div>
              <ColumnStats column={column} />
            </section>
          ))}
        </div>
      )}
    </Modal>
  );
}
