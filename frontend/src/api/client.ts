/** A small fetch wrapper: adds the API key, unwraps the envelope, turns failures into ApiError. */
import type { ErrorBody } from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, body: ErrorBody) {
    super(body.message);
    this.name = "ApiError";
    this.status = status;
    this.code = body.code;
    this.details = body.details;
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }
}

export interface ApiClient {
  /** The key (the SSE reader sends it as a header, like every request). */
  readonly apiKey: string;
  readonly baseUrl: string;
  get<T>(path: string, init?: RequestInit): Promise<T>;
  post<T>(path: string, body?: unknown, init?: RequestInit): Promise<T>;
  put<T>(path: string, body?: unknown, init?: RequestInit): Promise<T>;
  patch<T>(path: string, body?: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
}

export interface ClientOptions {
  apiKey: string;
  /** Called once a request is answered 401 (the key was revoked or is wrong). */
  onUnauthorized?: (error: ApiError) => void;
  baseUrl?: string;
}

function networkError(err: unknown): ApiError {
  const detail = err instanceof Error ? err.message : String(err);
  return new ApiError(0, {
    code: "network_error",
    message: `The gateway did not answer (${detail}). Is it running?`,
  });
}

async function parse<T>(response: Response): Promise<T> {
  const text = await response.text();
  let payload: unknown = null;
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = null;
    }
  }
  if (response.ok && payload && typeof payload === "object" && "success" in payload) {
    const envelope = payload as { success: boolean; data?: T };
    if (envelope.success) return envelope.data as T;
  }
  if (payload && typeof payload === "object" && "error" in payload) {
    const error = (payload as { error: ErrorBody | { message?: string; code?: string } }).error;
    throw new ApiError(response.status, {
      code: error.code ?? `http_${response.status}`,
      message: error.message ?? response.statusText,
      details: (error as ErrorBody).details,
    });
  }
  if (response.ok) return payload as T;
  throw new ApiError(response.status, {
    code: `http_${response.status}`,
    message: `${response.status} ${response.statusText || "request failed"}`,
  });
}

export function createClient({ apiKey, onUnauthorized, baseUrl = "" }: ClientOptions): ApiClient {
  async function request<T>(method: string, path: string, body?: unknown, init?: RequestInit) {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${apiKey}`,
      Accept: "application/json",
    };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(`${baseUrl}${path}`, {
        ...init,
        method,
        headers: { ...headers, ...(init?.headers as Record<string, string> | undefined) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw networkError(err);
    }
    try {
      return await parse<T>(response);
    } catch (err) {
      if (err instanceof ApiError && err.unauthorized) onUnauthorized?.(err);
      throw err;
    }
  }
  return {
    apiKey,
    baseUrl,
    get: (path, init) => request("GET", path, undefined, init),
    post: (path, body, init) => request("POST", path, body, init),
    put: (path, body, init) => request("PUT", path, body, init),
    patch: (path, body) => request("PATCH", path, body),
    del: (path) => request("DELETE", path),
  };
}

/** The server's own message for any error thrown by the client or a hook. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** `{code, message}` of any error (an ApiError keeps the server's code). */
export function errorBody(err: unknown): ErrorBody {
  if (err instanceof ApiError) return { code: err.code, message: err.message, details: err.details };
  return { code: "error", message: errorMessage(err) };
}
