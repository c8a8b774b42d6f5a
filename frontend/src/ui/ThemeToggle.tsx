/** Cycles the theme: system → light → dark. */
import type { ThemeChoice } from "../api/types";
import { nextTheme } from "./theme";
import { MonitorIcon, MoonIcon, SunIcon } from "./icons";

const NAMES: Record<ThemeChoice, string> = { system: "system", light: "light", dark: "dark" };

export function ThemeToggle({ value, onChange }: { value: ThemeChoice; onChange: (t: ThemeChoice) => void }) {
  const next = nextTheme(value);
  const Icon = value === "light" ? SunIcon : value === "dark" ? MoonIcon : MonitorIcon;
  return (
    <button
      type="button"
      className="icon-button"
      onClick={() => onChange(next)}
      aria-label={`Theme: ${NAMES[value]}. Switch to ${NAMES[next]}`}
      title={`Theme: ${NAMES[value]} (switch to ${NAMES[next]})`}
    >
      <Icon />
    </button>
  );
}
