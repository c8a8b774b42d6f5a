/** How the UI writes a duration: "840 ms", "1.25 s" (`missing` when there is none). */
export function formatMs(ms: number | null | undefined, missing = "–"): string {
  if (ms == null) return missing;
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}
