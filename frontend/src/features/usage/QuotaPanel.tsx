/** Quotas in the usage dialog: every caller sees their own and their use; admins set them. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { ApiClient } from "../../api/client";
import { errorBody } from "../../api/client";
import type { Me, QuotaCreate, QuotaPublic } from "../../api/types";
import { ErrorText } from "../../ui/ErrorText";
import {
  createQuota,
  deleteQuota,
  describeQuota,
  fetchKeys,
  fetchMyQuotas,
  fetchQuotas,
  fetchUsers,
  percentUsed,
  updateQuota,
} from "./quotas";

function Meter({ used, limit, label }: { used: number | null | undefined; limit: number; label: string }) {
  return <meter className="quota-meter" min={0} max={100} low={80} high={99} value={percentUsed(used, limit)} aria-label={label} />;
}

function resets(at: string): string {
  return new Date(at).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export function QuotaPanel({ client, me }: { client: ApiClient; me?: Me }) {
  const mine = useQuery({ queryKey: ["quotas", "mine"], queryFn: () => fetchMyQuotas(client) });
  const admin = me?.role === "admin";
  const own = mine.data ?? [];
  return (
    <section aria-labelledby="usage-quotas-title" className="usage-quotas">
      <h3 id="usage-quotas-title">Quotas</h3>
      {mine.error && <ErrorText error={errorBody(mine.error)} prefix="Could not load your quotas:" />}
      {mine.data && own.length === 0 && <p className="muted">No quota applies to you.</p>}
      {own.length > 0 && (
        <ul className="quota-list" aria-label="Your quotas">
          {own.map((q) => (
            <li key={q.id}>
              <span>
                {q.subject === "key" ? "This key: " : "You: "}
                {describeQuota(q)}
              </span>
              <Meter used={q.used} limit={q.limit} label={`${q.metric} per ${q.period} used`} />
              <span className="muted">resets {resets(q.resets_at)}</span>
            </li>
          ))}
        </ul>
      )}
      {admin && <QuotaAdmin client={client} />}
    </section>
  );
}

const EMPTY: QuotaCreate = { subject: "user", subject_id: "", metric: "tokens", period: "day", limit: 100000 };

function QuotaAdmin({ client }: { client: ApiClient }) {
  const queries = useQueryClient();
  const all = useQuery({ queryKey: ["quotas", "all"], queryFn: () => fetchQuotas(client) });
  const users = useQuery({ queryKey: ["quotas", "users"], queryFn: () => fetchUsers(client) });
  const keys = useQuery({ queryKey: ["quotas", "keys"], queryFn: () => fetchKeys(client) });
  const [draft, setDraft] = useState<QuotaCreate>(EMPTY);
  const [limits, setLimits] = useState<Record<string, string>>({});
  const refresh = () => queries.invalidateQueries({ queryKey: ["quotas"] });
  const create = useMutation({ mutationFn: (body: QuotaCreate) => createQuota(client, body), onSuccess: refresh });
  const change = useMutation({
    mutationFn: ({ id, limit }: { id: string; limit: number }) => updateQuota(client, id, limit),
    onSuccess: refresh,
  });
  const remove = useMutation({ mutationFn: (id: string) => deleteQuota(client, id), onSuccess: refresh });
  const failure = all.error ?? create.error ?? change.error ?? remove.error;
  const subjects =
    draft.subject === "user"
      ? (users.data ?? []).map((u) => ({ id: u.id, name: u.name }))
      : (keys.data ?? []).filter((k) => !k.revoked_at).map((k) => ({ id: k.id, name: `${k.name} (${k.user_name ?? k.user_id})` }));
  const set = (change: Partial<QuotaCreate>) => setDraft((d) => ({ ...d, ...change }));

  return (
    <div className="quota-admin">
      {failure && <ErrorText error={errorBody(failure)} prefix="Quotas:" />}
      <table className="quota-table">
        <thead>
          <tr>
            <th>Subject</th>
            <th>Quota</th>
            <th>Used</th>
            <th>Limit</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(all.data ?? []).map((q: QuotaPublic) => (
            <tr key={q.id}>
              <td>
                {q.subject}: {q.subject_name ?? q.subject_id}
              </td>
              <td>
                {q.metric} per {q.period}
              </td>
              <td>
                <Meter used={q.used} limit={q.limit} label={`${q.subject_name ?? q.subject_id} ${q.metric} used`} />{" "}
                {describeQuota(q)}
              </td>
              <td>
                <input
                  type="number"
                  min={0}
                  aria-label={`Limit of ${q.subject_name ?? q.subject_id} ${q.metric} per ${q.period}`}
                  value={limits[q.id] ?? String(q.limit)}
                  onChange={(e) => setLimits((l) => ({ ...l, [q.id]: e.target.value }))}
                />
                <button
                  type="button"
                  className="ghost small"
                  onClick={() => change.mutate({ id: q.id, limit: Number(limits[q.id] ?? q.limit) })}
                >
                  Save
                </button>
              </td>
              <td>
                <button type="button" className="ghost small" onClick={() => remove.mutate(q.id)}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="quota-form"
        aria-label="Add a quota"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({ ...draft, limit: Number(draft.limit) });
        }}
      >
        <select aria-label="Subject" value={draft.subject} onChange={(e) => set({ subject: e.target.value as QuotaCreate["subject"], subject_id: "" })}>
          <option value="user">user</option>
          <option value="key">API key</option>
        </select>
        <select aria-label="Who" value={draft.subject_id} onChange={(e) => set({ subject_id: e.target.value })}>
          <option value="">choose…</option>
          {subjects.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
        <select aria-label="Metric" value={draft.metric} onChange={(e) => {
          const metric = e.target.value as QuotaCreate["metric"];
          set(metric === "requests" ? { metric, period: "day" } : { metric });
        }}>
          <option value="tokens">tokens</option>
          <option value="gpu_seconds">GPU-seconds</option>
          <option value="requests">requests</option>
        </select>
        <select aria-label="Period" value={draft.period} onChange={(e) => set({ period: e.target.value as QuotaCreate["period"] })}>
          <option value="day">per day</option>
          {draft.metric !== "requests" && <option value="month">per month</option>}
        </select>
        <input type="number" min={0} aria-label="Limit" value={draft.limit} onChange={(e) => set({ limit: Number(e.target.value) })} />
        <button type="submit" className="small" disabled={!draft.subject_id || create.isPending}>
          Add quota
        </button>
      </form>
    </div>
  );
}
