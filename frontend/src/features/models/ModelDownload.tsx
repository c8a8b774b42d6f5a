/**
 * "Download a model" (admins only): starts a download onto the active provider's LM Studio
 * server (`POST /api/v1/llm-providers/models/{model}/download`) and polls the job
 * (`GET /api/v1/llm-providers/downloads/{job_id}`) until it is finished, with a progress bar.
 * The running job lives in the query cache, so closing and reopening the panel keeps following it.
 * When it completes the model list is refreshed (`onDownloaded`).
 */
import { type QueryClient, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import type { ApiClient } from "../../api/client";
import { errorMessage } from "../../api/client";
import type { Me, ProviderKind, ProviderPublic } from "../../api/types";
import { type DownloadJob, downloadModel, downloadStatus } from "./modelOps";
import "./models.css";

export const DOWNLOAD_POLL_MS = 1_000;

/** The download the panel follows: which job, on which provider, of which model. */
interface TrackedJob {
  model: string;
  providerId: string;
  /** The start answer (shown until the first status arrives; final when it has no job id). */
  started: DownloadJob;
  /** The model list was refreshed for this job's completion already. */
  notified: boolean;
}

const JOB_KEY = ["model-download", "job"] as const;
function track(queryClient: QueryClient, job: TrackedJob) {
  queryClient.setQueryData<TrackedJob | null>(JOB_KEY, () => job);
}
const statusKey = (job: TrackedJob | undefined) =>
  ["model-download", "status", job?.providerId ?? null, job?.started.job_id ?? null] as const;

const DONE = new Set(["completed", "already_downloaded"]);
const FINISHED = new Set([...DONE, "failed"]);

export function isFinished(job: DownloadJob | undefined): boolean {
  return job ? FINISHED.has(job.status) : false;
}

export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** "45% · 1.2 GB of 2.6 GB · 30.0 MB/s" (the parts the server reported). */
export function progressText(job: DownloadJob): string {
  const parts: string[] = [];
  if (job.progress != null) parts.push(`${Math.floor(job.progress * 100)}%`);
  if (job.downloaded_bytes != null && job.total_size_bytes) {
    parts.push(`${formatBytes(job.downloaded_bytes)} of ${formatBytes(job.total_size_bytes)}`);
  }
  if (job.bytes_per_second && !isFinished(job)) parts.push(`${formatBytes(job.bytes_per_second)}/s`);
  return parts.join(" · ");
}

/** The job's state in words. */
export function statusText(job: DownloadJob, model: string): string {
  switch (job.status) {
    case "downloading":
      return `Downloading ${model}…`;
    case "paused":
      return `The download of ${model} is paused on the server.`;
    case "completed":
      return `Downloaded ${model}: it is in the model list now.`;
    case "already_downloaded":
      return `${model} is already on the server.`;
    case "failed":
      return `The download of ${model} failed on the server (check its disk space and the model key).`;
    default:
      return `Download of ${model}: ${job.status}.`;
  }
}

interface Props {
  client: ApiClient;
  me: Me;
  /** The provider the download goes to (the active one, like Load / Unload). */
  provider: ProviderPublic | undefined;
  kinds: ProviderKind[] | null;
  /** Called once a download completes, so the model list shows the new model. */
  onDownloaded: () => void;
  pollMs?: number;
}

export function ModelDownload({ client, me, provider, kinds, onDownloaded, pollMs = DOWNLOAD_POLL_MS }: Props) {
  const queryClient = useQueryClient();
  const [model, setModel] = useState("");
  const [quantization, setQuantization] = useState("");
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const admin = me.role === "admin";
  const supports = kinds?.find((k) => k.kind === provider?.kind)?.supports_load ?? false;
  const visible = admin && !!provider && supports;

  const tracked = useQuery<TrackedJob | null>({
    queryKey: JOB_KEY,
    queryFn: () => null,
    enabled: false,
    staleTime: Infinity,
    gcTime: Infinity,
  }).data;
  const job = tracked ?? undefined;
  // Open while a job runs, and still open when it ends (reopened details show the tracked job).
  const [open, setOpen] = useState(() => !!job);
  const polling = visible && !!job?.started.job_id && !isFinished(job.started);
  const status = useQuery({
    queryKey: statusKey(job),
    queryFn: () => downloadStatus(client, job?.started.job_id ?? "", job?.providerId ?? null),
    enabled: polling,
    refetchInterval: (query) => (isFinished(query.state.data) ? false : pollMs),
    gcTime: Infinity,
    retry: false,
  });
  const current = status.data ?? job?.started;
  const done = !!current && DONE.has(current.status);

  useEffect(() => {
    if (!job || job.notified || !done) return;
    track(queryClient, { ...job, notified: true });
    onDownloaded();
  }, [job, done, queryClient, onDownloaded]);

  if (!visible || !provider) return null;
  const running = starting || (!!current && !isFinished(current) && !!job?.started.job_id);

  async function start(event: FormEvent) {
    event.preventDefault();
    if (!provider) return;
    const key = model.trim();
    if (!key) return;
    setStarting(true);
    setError(null);
    try {
      const started = await downloadModel(client, key, provider.id, quantization.trim() || undefined);
      track(queryClient, { model: key, providerId: provider.id, started, notified: false });
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setStarting(false);
    }
  }

  const pollError = status.error ? errorMessage(status.error) : null;
  return (
    <details
      className="model-download"
      data-testid="model-download"
      open={open || running}
      onToggle={(e) => setOpen(e.currentTarget.open)}
    >
      <summary>Download a model</summary>
      <form onSubmit={(e) => void start(e)} aria-label="Download a model">
        <div className="form-grid">
          <div className="field">
            <label htmlFor="model-download-key">Model key</label>
            <input
              id="model-download-key"
              required
              maxLength={256}
              placeholder="qwen/qwen3-4b"
              value={model}
              onChange={(e) => setModel(e.target.value)}
              aria-describedby="model-download-hint"
            />
          </div>
          <div className="field">
            <label htmlFor="model-download-quant">Quantisation (optional)</label>
            <input
              id="model-download-quant"
              maxLength={64}
              placeholder="Q4_K_M"
              value={quantization}
              onChange={(e) => setQuantization(e.target.value)}
            />
          </div>
        </div>
        <p id="model-download-hint" className="hint">
          Onto {provider.name}&apos;s server: the files fill its disk, for every user of it.
        </p>
        <div className="form-actions">
          <button type="submit" className="small" disabled={running || !model.trim()}>
            {starting ? "Starting…" : "Download"}
          </button>
        </div>
      </form>
      {error && (
        <p className="inline-error" role="alert">
          {error}
        </p>
      )}
      {job && current && (
        <div className="download-job" data-testid="download-job">
          <p role="status" className={current.status === "failed" ? "error-text" : undefined}>
            {statusText(current, job.model)}
          </p>
          {!DONE.has(current.status) && current.status !== "failed" && (
            <progress
              max={1}
              value={current.progress ?? undefined}
              aria-label={`Download of ${job.model}`}
            />
          )}
          {progressText(current) && (
            <p className="hint" data-testid="download-progress">
              {progressText(current)}
            </p>
          )}
          {pollError && (
            <p className="inline-error" role="alert">
              Could not read the download&apos;s progress: {pollError}
            </p>
          )}
        </div>
      )}
    </details>
  );
}
