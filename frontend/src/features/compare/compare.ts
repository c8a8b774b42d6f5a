/**
 * Side-by-side comparisons: `POST /api/v1/compare` answers with SSE over the POST, read by
 * the shared SSE client (api/sse). A comparison cannot be resumed, so it is read once.
 */
import type { ApiClient } from "../../api/client";
import { eventData, readSse, sseFetch } from "../../api/sse";
import type { CompareEvent, CompareParams, CompareTarget } from "../../api/types";

export interface ComparisonBody {
  prompt: string;
  params: CompareParams;
  targets: CompareTarget[];
}

/** Run a comparison, calling `onEvent` for each event; resolves when the stream ends. */
export async function runComparison(
  client: ApiClient,
  body: ComparisonBody,
  onEvent: (event: CompareEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const response = await sseFetch({
    url: `${client.baseUrl}/api/v1/compare`,
    apiKey: client.apiKey,
    method: "POST",
    body,
    signal,
  });
  await readSse(response, (event) => {
    const data = eventData<CompareEvent["data"]>(event);
    if (data) onEvent({ event: event.event, data } as CompareEvent);
    return event.event === "end";
  });
}
