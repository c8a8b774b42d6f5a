import type { QueryClient } from "@tanstack/react-query";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { createClient } from "../../api/client";
import type { Me, ProviderPublic } from "../../api/types";
import { MODELS, mockFetch } from "../../test/fakes";
import { renderWithQuery } from "../../test/render";
import { ModelInfoPanel } from "./ModelInfoPanel";
import { ModelDownload, formatBytes, progressText, statusText } from "./ModelDownload";
import type { DownloadJob } from "./modelOps";

const KINDS = [
  { kind: "lmstudio", description: "", builtin: true, supports_load: true },
  { kind: "openai", description: "", builtin: true, supports_load: false },
];
const PROVIDER = { id: "p1", name: "LMStudio Local", kind: "lmstudio", owner_id: null } as ProviderPublic;
const admin: Me = { user_id: "u1", name: "root", role: "admin", key_id: "k" };
const user: Me = { user_id: "u2", name: "ada", role: "user", key_id: "k2" };
const GB = 1_000_000_000;

const START_PATH = "/api/v1/llm-providers/models/acme/new-model/download";
const STATUS_PATH = "/api/v1/llm-providers/downloads/job_1";

function job(status: string, done: number, extra: Partial<DownloadJob> = {}): DownloadJob {
  return {
    job_id: "job_1",
    status,
    total_size_bytes: 4 * GB,
    downloaded_bytes: done,
    bytes_per_second: 50_000_000,
    progress: done / (4 * GB),
    ...extra,
  };
}

function renderDownload(me: Me, provider: ProviderPublic = PROVIDER, queryClient?: QueryClient) {
  const client = createClient({ apiKey: "k" });
  const downloaded = vi.fn();
  const view = renderWithQuery(
    <ModelDownload client={client} me={me} provider={provider} kinds={KINDS} onDownloaded={downloaded} pollMs={10} />,
    { client: queryClient },
  );
  return { ...view, downloaded };
}

describe("ModelDownload", () => {
  it("starts a download, shows its progress and refreshes the model list once it completes", async () => {
    // The server's job moves on when the test says so.
    let server = job("downloading", GB);
    const { calls } = mockFetch({
      [`POST ${START_PATH}`]: () => ({ data: job("downloading", 0) }),
      [`GET ${STATUS_PATH}`]: () => ({ data: server }),
    });
    const { downloaded } = renderDownload(admin);

    await userEvent.click(screen.getByText("Download a model"));
    await userEvent.type(screen.getByLabelText("Model key"), "acme/new-model");
    await userEvent.type(screen.getByLabelText("Quantisation (optional)"), "Q4_K_M");
    await userEvent.click(screen.getByRole("button", { name: "Download" }));

    // The start: a path route (the slash stays), the provider as a query, the quantisation in the body.
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    const post = calls.find((c) => c.method === "POST");
    expect(post?.path).toBe(`${START_PATH}?provider=p1`);
    expect(post?.body).toEqual({ quantization: "Q4_K_M" });

    // Progress while downloading: bar, percent, bytes, status in words; the button waits.
    expect(await screen.findByText("Downloading acme/new-model…")).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId("download-progress")).toHaveTextContent("25% · 1.0 GB of 4.0 GB"));
    expect(screen.getByRole("progressbar", { name: "Download of acme/new-model" })).toHaveAttribute(
      "value",
      "0.25",
    );
    expect(screen.getByRole("button", { name: "Download" })).toBeDisabled();
    expect(downloaded).not.toHaveBeenCalled();

    server = job("downloading", 3 * GB);
    await waitFor(() => expect(screen.getByTestId("download-progress")).toHaveTextContent("75% · 3.0 GB of 4.0 GB"));
    server = job("completed", 4 * GB, { progress: 1, bytes_per_second: null });

    // Completed: the list is refreshed once, polling stops, the form is free again.
    expect(await screen.findByText("Downloaded acme/new-model: it is in the model list now.")).toBeInTheDocument();
    expect(screen.getByTestId("download-progress")).toHaveTextContent("100% · 4.0 GB of 4.0 GB");
    expect(screen.queryByRole("progressbar")).toBeNull();
    await waitFor(() => expect(downloaded).toHaveBeenCalledTimes(1));
    const statusCalls = calls.filter((c) => c.method === "GET");
    expect(statusCalls.every((c) => c.path === `${STATUS_PATH}?provider=p1`)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls.filter((c) => c.method === "GET")).toHaveLength(statusCalls.length);
    expect(downloaded).toHaveBeenCalledTimes(1);
    expect(screen.getByRole("button", { name: "Download" })).toBeEnabled();
    expect(screen.getByTestId("model-download")).toHaveAttribute("open"); // the result stays in view
  });

  it("says so when the model is already on the server, without polling", async () => {
    const { calls } = mockFetch({
      [`POST ${START_PATH}`]: () => ({
        data: { job_id: "job_1", status: "already_downloaded", total_size_bytes: 0, progress: 1 },
      }),
    });
    const { downloaded } = renderDownload(admin);
    await userEvent.type(screen.getByLabelText("Model key"), "acme/new-model");
    await userEvent.click(screen.getByRole("button", { name: "Download" }));
    expect(await screen.findByText("acme/new-model is already on the server.")).toBeInTheDocument();
    await waitFor(() => expect(downloaded).toHaveBeenCalledTimes(1));
    expect(calls.filter((c) => c.method === "GET")).toHaveLength(0);
    expect(calls[0]?.body).toBeUndefined();
  });

  it("shows the gateway's error in words when the download cannot start", async () => {
    mockFetch({
      [`POST ${START_PATH}`]: () => ({
        status: 409,
        error: { code: "not_supported", message: "provider 'pool' (lmstudio) cannot download models" },
      }),
    });
    const { downloaded } = renderDownload(admin);
    await userEvent.type(screen.getByLabelText("Model key"), "acme/new-model");
    await userEvent.click(screen.getByRole("button", { name: "Download" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("cannot download models");
    expect(downloaded).not.toHaveBeenCalled();
  });

  it("words a failed download and does not refresh the list", async () => {
    mockFetch({
      [`POST ${START_PATH}`]: () => ({ data: job("downloading", 0) }),
      [`GET ${STATUS_PATH}`]: () => ({ data: job("failed", GB) }),
    });
    const { downloaded } = renderDownload(admin);
    await userEvent.type(screen.getByLabelText("Model key"), "acme/new-model");
    await userEvent.click(screen.getByRole("button", { name: "Download" }));
    expect(await screen.findByText(/The download of acme\/new-model failed/)).toHaveClass("error-text");
    expect(downloaded).not.toHaveBeenCalled();
  });

  it("shows nothing to a non-admin, and nothing for a provider that cannot load models", () => {
    const { fetchMock } = mockFetch({});
    const first = renderDownload(user);
    expect(first.container).toBeEmptyDOMElement();
    first.unmount();
    const second = renderDownload(admin, { ...PROVIDER, kind: "openai" });
    expect(second.container).toBeEmptyDOMElement();
    expect(fetchMock).not.toHaveBeenCalled();
  });
});

describe("ModelDownload in the model details", () => {
  function renderPanel(me: Me) {
    mockFetch({ "GET /api/v1/llm-providers/capacity": () => ({ data: [] }) });
    const client = createClient({ apiKey: "k" });
    const noop = () => {};
    const callbacks = { onChanged: noop, onRefresh: noop, onClose: noop };
    return renderWithQuery(
      <ModelInfoPanel model={MODELS[1]} provider={PROVIDER} client={client} me={me} kinds={KINDS} {...callbacks} />,
    );
  }

  it("is offered to an admin", () => {
    renderPanel(admin);
    expect(screen.getByText("Download a model")).toBeInTheDocument();
  });

  it("is not there for a user", () => {
    renderPanel(user);
    expect(screen.getByTestId("model-info")).toBeInTheDocument();
    expect(screen.queryByText("Download a model")).toBeNull();
    expect(screen.queryByLabelText("Model key")).toBeNull();
  });

  it("keeps following a running download when the details are closed and opened again", async () => {
    let server = job("downloading", GB);
    mockFetch({
      [`POST ${START_PATH}`]: () => ({ data: job("downloading", 0) }),
      [`GET ${STATUS_PATH}`]: () => ({ data: server }),
    });
    const first = renderDownload(admin);
    await userEvent.type(screen.getByLabelText("Model key"), "acme/new-model");
    await userEvent.click(screen.getByRole("button", { name: "Download" }));
    await waitFor(() => expect(screen.getByTestId("download-progress")).toHaveTextContent("25%"));
    first.unmount();

    server = job("completed", 4 * GB, { progress: 1 });
    const again = renderDownload(admin, PROVIDER, first.queryClient);
    expect(await screen.findByText("Downloaded acme/new-model: it is in the model list now.")).toBeInTheDocument();
    await waitFor(() => expect(again.downloaded).toHaveBeenCalledTimes(1));
  });
});

describe("download words", () => {
  it("formats sizes and progress", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(2_500_000_000)).toBe("2.5 GB");
    expect(progressText(job("downloading", GB))).toBe("25% · 1.0 GB of 4.0 GB · 50.0 MB/s");
    expect(progressText({ status: "downloading" })).toBe("");
    expect(statusText({ status: "paused" }, "m")).toBe("The download of m is paused on the server.");
  });
});
