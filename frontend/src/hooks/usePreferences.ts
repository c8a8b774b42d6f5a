/**
 * Per-user settings: the server's `/api/v1/me/preferences` is the source of truth, localStorage
 * an offline cache (so settings show at once and survive a gateway without the endpoint).
 */
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import { ApiError } from "../api/client";
import type { Preferences, ThemeChoice } from "../types/api";

export interface Settings {
  temperature: number;
  max_tokens: number;
  system_prompt: string;
  model: string | null;
  provider: string | null;
  theme: ThemeChoice;
}

export const DEFAULT_SETTINGS: Settings = {
  temperature: 0.7,
  max_tokens: 1000,
  system_prompt: "",
  model: null,
  provider: null,
  theme: "system",
};

export const LIMITS = {
  temperature: { min: 0, max: 2, step: 0.1 },
  max_tokens: { min: 100, max: 4000, step: 100 },
} as const;

export type SyncState = "loading" | "synced" | "saving" | "offline" | "local-only";

const cacheKey = (userId: string) => `bigshot.prefs.${userId}`;

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Server or cached values made safe: unknown fields dropped, numbers clamped. */
export function normalize(raw: Preferences | null | undefined): Settings {
  const out = { ...DEFAULT_SETTINGS };
  if (!raw || typeof raw !== "object") return out;
  if (typeof raw.temperature === "number" && Number.isFinite(raw.temperature))
    out.temperature = Math.round(clamp(raw.temperature, 0, 2) * 10) / 10;
  if (typeof raw.max_tokens === "number" && Number.isFinite(raw.max_tokens))
    out.max_tokens = Math.round(clamp(raw.max_tokens, 100, 4000));
  if (typeof raw.system_prompt === "string") out.system_prompt = raw.system_prompt;
  if (typeof raw.model === "string" && raw.model) out.model = raw.model;
  if (typeof raw.provider === "string" && raw.provider) out.provider = raw.provider;
  if (raw.theme === "light" || raw.theme === "dark" || raw.theme === "system")
    out.theme = raw.theme;
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

function writeCache(userId: string, settings: Settings): void {
  try {
    localStorage.setItem(cacheKey(userId), JSON.stringify(settings));
  } catch {
    // Storage full or disabled: the server copy still holds them.
  }
}

export function usePreferences(client: ApiClient, userId: string, saveDelayMs = 400) {
  const [settings, setSettings] = useState<Settings>(() => readCache(userId));
  const [sync, setSync] = useState<SyncState>("loading");
  const serverHasEndpoint = useRef(true);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const latest = useRef(settings);
  const dirty = useRef(false);

  useEffect(() => {
    let cancelled = false;
    client
      .get<Preferences>("/api/v1/me/preferences")
      .then((remote) => {
        if (cancelled) return;
        // An edit made before the answer arrived wins over the server copy.
        if (dirty.current) return;
        const merged = normalize({ ...latest.current, ...(remote ?? {}) });
        latest.current = merged;
        setSettings(merged);
        writeCache(userId, merged);
        setSync("synced");
      })
      .catch((err: unknown) => {
        if (cancelled) return;
        if (err instanceof ApiError && (err.status === 404 || err.status === 405)) {
          serverHasEndpoint.current = false;
          setSync("local-only");
        } else {
          setSync("offline");
        }
      });
    return () => {
      cancelled = true;
    };
  }, [client, userId]);

  const save = useCallback(async (keepalive = false) => {
    timer.current = null;
    if (!serverHasEndpoint.current) return;
    setSync("saving");
    try {
      // keepalive lets the last save finish while the page unloads.
      await client.put<Preferences>("/api/v1/me/preferences", latest.current, { keepalive });
      dirty.current = false;
      setSync("synced");
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) {
        serverHasEndpoint.current = false;
        setSync("local-only");
      } else {
        setSync("offline");
      }
    }
  }, [client]);

  const update = useCallback(
    (patch: Partial<Settings>) => {
      const next = normalize({ ...latest.current, ...patch });
      latest.current = next;
      dirty.current = true;
      setSettings(next);
      writeCache(userId, next);
      if (serverHasEndpoint.current) setSync("saving");
      if (timer.current) clearTimeout(timer.current);
      timer.current = setTimeout(() => void save(), saveDelayMs);
    },
    [save, saveDelayMs, userId],
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
