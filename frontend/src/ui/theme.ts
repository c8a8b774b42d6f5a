/** Light/dark: follows prefers-color-scheme unless the user picked one (data-theme on <html>). */
import type { ThemeChoice } from "../api/types";

export const THEME_STORAGE = "bigshot.theme";

export function applyTheme(choice: ThemeChoice): void {
  const root = document.documentElement;
  if (choice === "system") delete root.dataset.theme;
  else root.dataset.theme = choice;
  try {
    localStorage.setItem(THEME_STORAGE, choice);
  } catch {
    // Not persisted locally; the server-side preference still is.
  }
}

export function storedTheme(): ThemeChoice {
  try {
    const value = localStorage.getItem(THEME_STORAGE);
    if (value === "light" || value === "dark") return value;
  } catch {
    // fall through
  }
  return "system";
}

export function nextTheme(choice: ThemeChoice): ThemeChoice {
  return choice === "system" ? "light" : choice === "light" ? "dark" : "system";
}
