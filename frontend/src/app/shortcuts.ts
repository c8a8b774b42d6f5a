/**
 * Keyboard shortcuts of the whole page (listed in the help dialog). Chosen not to clash with
 * the browser's own: Ctrl+Shift+O, Shift+Esc and Ctrl+/ are what ChatGPT users know; Alt+R
 * regenerates (Ctrl+Shift+R would reload the page).
 */
import { useEffect, useRef } from "react";

export interface Shortcut {
  keys: string[];
  /** Also accepted, shown after "or". */
  alt?: string[];
  does: string;
}

export const SHORTCUTS: Shortcut[] = [
  { keys: ["Ctrl", "Shift", "O"], does: "New chat" },
  { keys: ["Shift", "Esc"], alt: ["/"], does: "Focus the message box" },
  { keys: ["Esc"], does: "Stop the answer being written" },
  { keys: ["Alt", "R"], does: "Regenerate the last answer (the earlier one stays as a version)" },
  { keys: ["Enter"], does: "Send the message" },
  { keys: ["Shift", "Enter"], does: "New line in the message" },
  { keys: ["↑", "↓"], does: "Move between chats in the history (F2 renames, Delete deletes)" },
  { keys: ["Ctrl", "/"], alt: ["?"], does: "Show these shortcuts" },
];

export interface ShortcutHandlers {
  newChat: () => void;
  focusComposer: () => void;
  stop: () => boolean;
  /** Regenerate the last answer; false when there is none to regenerate. */
  regenerate: () => boolean;
  help: () => void;
}

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

function dialogOpen(): boolean {
  return !!document.querySelector("[role=dialog][aria-modal=true]");
}

export function useShortcuts(handlers: ShortcutHandlers): void {
  const current = useRef(handlers);
  current.current = handlers;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.isComposing) return;
      const h = current.current;
      const mod = event.ctrlKey || event.metaKey;
      const key = event.key;
      if (mod && event.shiftKey && key.toLowerCase() === "o") {
        event.preventDefault();
        h.newChat();
      } else if (mod && (key === "/" || key === "?")) {
        event.preventDefault();
        h.help();
      } else if (event.altKey && !mod && !event.shiftKey && event.code === "KeyR") {
        // event.code: Option+R types "®" on a Mac keyboard, but it is still the R key.
        if (!dialogOpen() && h.regenerate()) event.preventDefault();
      } else if (key === "Escape" && event.shiftKey) {
        event.preventDefault();
        h.focusComposer();
      } else if (key === "Escape" && !dialogOpen()) {
        if (h.stop()) event.preventDefault();
      } else if (!mod && !event.altKey && !typing(event.target) && !dialogOpen()) {
        if (key === "/") {
          event.preventDefault();
          h.focusComposer();
        } else if (key === "?") {
          event.preventDefault();
          h.help();
        }
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
