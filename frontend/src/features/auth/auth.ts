/** The API key lives in localStorage; `#key=…` in the address (printed by `make run`) signs in. */

export const KEY_STORAGE = "bigshot.apiKey";

export function loadKey(): string | null {
  try {
    return localStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function saveKey(key: string): void {
  localStorage.setItem(KEY_STORAGE, key);
}

export function clearKey(): void {
  localStorage.removeItem(KEY_STORAGE);
}

/**
 * Takes a key from the URL fragment (`#key=bsk_…`), stores it and removes the fragment so the
 * key neither stays in the address bar nor in the history. Returns the key if there was one.
 */
export function adoptKeyFromFragment(win: Window = window): string | null {
  const hash = win.location.hash.replace(/^#/, "");
  if (!hash) return null;
  const params = new URLSearchParams(hash);
  const key = params.get("key")?.trim();
  if (!key) return null;
  saveKey(key);
  params.delete("key");
  const rest = params.toString();
  const url = `${win.location.pathname}${win.location.search}${rest ? `#${rest}` : ""}`;
  win.history.replaceState(win.history.state, "", url);
  return key;
}
