/** Model operations: load, unload or download a model, and the provider kinds the gateway offers. */
import type { ApiClient } from "../../api/client";
import type { components } from "../../api/schema";
import type { ModelOpAnswer, ProviderKind } from "../../api/types";

/** LM Studio's download job as the gateway reports it (`progress`: 0–1 when the size is known). */
export type DownloadJob = components["schemas"]["DownloadJob"];

function providerQuery(providerId: string | null): string {
  return providerId ? `?provider=${encodeURIComponent(providerId)}` : "";
}

function modelPath(model: string, action: "load" | "unload" | "download", providerId: string | null): string {
  // Model ids may contain "/": each segment is encoded, the slashes stay (a path route).
  const encoded = model.split("/").map(encodeURIComponent).join("/");
  const query = providerQuery(providerId);
  return `/api/v1/llm-providers/models/${encoded}/${action}${query}`;
}

export function loadModel(
  client: ApiClient,
  model: string,
  providerId: string | null,
  contextLength?: number,
): Promise<ModelOpAnswer> {
  const body = contextLength ? { context_length: contextLength } : undefined;
  return client.post<ModelOpAnswer>(modelPath(model, "load", providerId), body);
}

export function unloadModel(client: ApiClient, model: string, providerId: string | null) {
  return client.post<ModelOpAnswer>(modelPath(model, "unload", providerId));
}

/** Start downloading `model` onto the provider's server (admins; LM Studio only). */
export function downloadModel(
  client: ApiClient,
  model: string,
  providerId: string | null,
  quantization?: string,
): Promise<DownloadJob> {
  const body = quantization ? { quantization } : undefined;
  return client.post<DownloadJob>(modelPath(model, "download", providerId), body);
}

/** A download job's progress, read from the server that runs it. */
export function downloadStatus(client: ApiClient, jobId: string, providerId: string | null) {
  const path = `/api/v1/llm-providers/downloads/${encodeURIComponent(jobId)}${providerQuery(providerId)}`;
  return client.get<DownloadJob>(path);
}

export function listKinds(client: ApiClient): Promise<ProviderKind[]> {
  return client.get<ProviderKind[]>("/api/v1/llm-providers/kinds");
}
