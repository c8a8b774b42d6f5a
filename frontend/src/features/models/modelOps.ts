/** Model operations: load or unload a model, and the provider kinds the gateway offers. */
import type { ApiClient } from "../../api/client";
import type { ModelOpAnswer, ProviderKind } from "../../api/types";

function modelPath(model: string, action: "load" | "unload", providerId: string | null): string {
  // Model ids may contain "/": each segment is encoded, the slashes stay (a path route).
  const encoded = model.split("/").map(encodeURIComponent).join("/");
  const query = providerId ? `?provider=${encodeURIComponent(providerId)}` : "";
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

export function listKinds(client: ApiClient): Promise<ProviderKind[]> {
  return client.get<ProviderKind[]>("/api/v1/llm-providers/kinds");
}
