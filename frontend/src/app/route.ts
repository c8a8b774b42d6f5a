/**
 * The address: `/c/<id>` names a conversation (a reload or a shared tab reopens it), `/` is a
 * new chat. `useConversationRoute` follows pushes, replaces and Back/Forward.
 */
import { useSyncExternalStore } from "react";

const EVENT = "bigshot:navigate";

export function conversationFromPath(path: string = window.location.pathname): string | null {
  const match = /^\/c\/([A-Za-z0-9_-]{1,64})\/?$/.exec(path);
  return match ? match[1] : null;
}

export function navigate(id: string | null, replace = false): void {
  const path = id ? `/c/${encodeURIComponent(id)}` : "/";
  if (window.location.pathname === path) return;
  if (replace) window.history.replaceState(null, "", path);
  else window.history.pushState(null, "", path);
  window.dispatchEvent(new Event(EVENT));
}

function subscribe(listener: () => void): () => void {
  window.addEventListener("popstate", listener);
  window.addEventListener(EVENT, listener);
  return () => {
    window.removeEventListener("popstate", listener);
    window.removeEventListener(EVENT, listener);
  };
}

/** The conversation in the address (null: a new chat). */
export function useConversationRoute(): string | null {
  return useSyncExternalStore(subscribe, () => conversationFromPath());
}
