/**
 * Per-user settings: the server's `/api/v1/me/preferences` is the source of truth, localStorage
 * a cache (settings show at once) and an outbox: a change the server has not confirmed is
 * marked pending, survives a reload, and is sent again (on load, when the browser is back
 * online, and every few seconds while the gateway is unreachable) instead of being replaced
 * by the older server copy.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../../api/client";
import { ApiError } from "../../api/client";
import type { Preferences, Preset, ThemeChoice } from "../../api/types";

export interface Settings {
  temperature: number;
  max_tokens: number;
  system_prompt: string;
  model: string | null;
  provider: string | null;
  theme: ThemeChoice;
  /** Saved chat parameters (name, system prompt, temperature, max tokens). */
  presets: Preset[];
}

export const MAX_PRESETS = 20;

export const DEFAULT_SETTINGS: Settings = {
  temperature: 0.7,
  max_tokens: 1000,
  system_prompt: "",
  model: null,
  provider: null,
  theme: "system",
  presets: [],
};

/** The API accepts max_tokens up to 262 144 (StreamCreate); the model's own limit is lower. */
export const API_MAX_TOKENS = 262144;
export const FALLBACK_MAX_TOKENS = 4096;

export const LIMITS = {
  temperature: { min: 0, max: 2, step: 0.1 },
  max_tokens: { min: 1, max: API_MAX_TOKENS },
} as const;

export type SyncState = "loading" | "synced" | "saving" | "offline" | "local-only";

const cacheKey = (userId: string) => `bigshot.prefs.${userId}`;
const pendingKey = (userId: string) => `bigshot.prefs.${userId}.pending`;
const RETRY_MS = 5000;

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Server or cached values made safe: unknown fields dropped, numbers clamped. */
export function normalize(raw: Preferences | Partial<Settings> | null | undefined): Settings {
  const out = { ...DEFAULT_SETTINGS };
  if (!raw || typeof raw !== "object") return out;
  if (typeof raw.temperature === "number" && Number.isFinite(raw.temperature))
    out.temperature = Math.round(clamp(raw.temperature, 0, 2) * 10) / 10;
  if (typeof raw.max_tokens === "number" && Number.isFinite(raw.max_tokens))
    out.max_tokens = Math.round(clamp(raw.max_tokens, LIMITS.max_tokens.min, LIMITS.max_tokens.max));
  if (typeof raw.system_prompt === "string") out.system_prompt = raw.system_prompt;
  if (typeof raw.model === "string" && raw.model) out.model = raw.model;
  if (typeof raw.provider === "string" && raw.provider) out.provider = raw.provider;
  if (raw.theme === "light" || raw.theme === "dark" || raw.theme === "system") out.theme = raw.theme;
  if (Array.isArray(raw.presets))
    out.presets = raw.presets
      .filter((p): p is Preset => !!p && typeof p === "object" && typeof p.name === "string" && !!p.name.trim())
      .slice(0, MAX_PRESETS);
  return out;
}

function readCache(userId: string): Settings {
  try {
    const text = localStorage.getItem(cacheKey(userId));
    return normalize(text ? (JSON.parse(text) as Preferences) : null);
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}

function writeCache(userId: string, settings: Settings, pending: boolean): void {
  try {
    localStorage.setItem(cacheKey(userId), JSON.stringify(settings));
    if (pending) localStorage.setItem(pendingKey(userId), "1");
    else localStorage.removeItem(pendingKey(userId));
  } catch {
    // Storage full or disabled: the server copy still holds them.
  }
}

function readPending(userId: string): boolean {
  try {
    return localStorage.getItem(pendingKey(userId)) === "1";
  } catch {
    return false;
  }
}

function missingEndpoint(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 404 || err.status === 405);
}

export function usePreferences(client: ApiClient, userId: string, saveDelayMs = 400) {
  const [settings, setSettings] = useState<Settings>(() => readCache(userId));
  const [sync, setSync] = useState<SyncState>("loading");
  const serverHasEndpoint = useRef(true);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const latest = useRef(settings);
  /** An edit the server has not confirmed (also across reloads, via localStorage). */
  const pending = useRef(readPending(userId));
  const saving = useRef<Promise<void> | null>(null);

  const save = useCallback(
    async (keepalive = false): Promise<void> => {
      timer.current = null;
      if (!serverHasEndpoint.current) return;
      setSync("saving");
      const sent = latest.current;
      try {
        // keepalive lets the last save finish while the page unloads.
        await client.put<Preferences>("/api/v1/me/preferences", sent, { keepalive });
        if (latest.current === sent) {
          pending.current = false;
          writeCache(userId, sent, false);
          setSync("synced");
        }
      } catch (err) {
        if (missingEndpoint(err)) {
          serverHasEndpoint.current = false;
          setSync("local-only");
        } else {
          setSync("offline");
        }
      }
    },
    [client, userId],
  );

  // Saves run one after another (a newer one never overtakes an older one on the wire).
  const flushNow = useCallback(() => {
    const previous = saving.current ?? Promise.resolve();
    const next = previous.then(() => (pending.current ? save() : undefined));
    saving.current = next;
    return next;
  }, [save]);

  useEffect(() => {
    let cancelled = false;
    client
      .get<Preferences>("/api/v1/me/preferences")
      .then((remote) => {
        if (cancelled) return;
        if (pending.current) {
          // The local copy has changes the server never got: it wins, and is sent now.
          void flushNow();
          return;
        }
        const merged = normalize({ ...latest.current, ...(remote ?? {}) });
        latest.current = merged;
        setSettings(merged);
        writeCache(userId, merged, false);
        setSync("synced");
      })
      .catch((err: unknown) => {
        if (cancelled) return;
        if (missingEndpoint(err)) {
          serverHasEndpoint.current = false;
          setSync("local-only");
        } else {
          setSync("offline");
        }
      });
    return () => {
      cancelled = true;
    };
  }, [client, flushNow, userId]);

  // While unconfirmed changes wait, try again now and then and as soon as the browser is online.
  useEffect(() => {
    if (sync !== "offline") return;
    const retry = () => {
      if (pending.current) void flushNow();
    };
    const interval = setInterval(retry, RETRY_MS);
    window.addEventListener("online", retry);
    return () => {
      clearInterval(interval);
      window.removeEventListener("online", retry);
    };
  }, [flushNow, sync]);

  const update = useCallback(
    (patch: Partial<Settings>) => {
      const next = normalize({ ...latest.current, ...patch });
      latest.current = next;
      pending.current = serverHasEndpoint.current;
      setSettings(next);
      writeCache(userId, next, pending.current);
      if (serverHasEndpoint.current) setSync("saving");
      if (timer.current) clearTimeout(timer.current);
      timer.current = setTimeout(() => void flushNow(), saveDelayMs);
    },
    [flushNow, saveDelayMs, userId],
  );

  // Flush a pending save when the page goes away or the user signs out.
  useEffect(() => {
    const flush = () => {
      if (timer.current) {
        clearTimeout(timer.current);
        void save(true);
      }
    };
    window.addEventListener("pagehide", flush);
    return () => {
      window.removeEventListener("pagehide", flush);
      flush();
    };
  }, [save]);

  return { settings, update, sync };
}
