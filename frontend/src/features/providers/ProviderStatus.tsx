/** The active provider: a picker (switching activates it for this user) and its health. */
import type { ProviderPublic } from "../../api/types";
import type { ProviderHealth } from "./useProviders";
import "./providers.css";

export function StatusPill({ health }: { health: ProviderHealth | undefined }) {
  const h = health?.health ?? "unknown";
  const latency = health?.latencyMs != null && h !== "offline" ? ` · ${Math.round(health.latencyMs)} ms` : "";
  return (
    <span className={`status-pill ${h}`} title={health?.message ?? undefined} data-testid="provider-status">
      <span className="dot" aria-hidden="true" />
      {h}
      {latency && <span className="latency">{latency}</span>}
    </span>
  );
}

interface ProviderStatusProps {
  providers: ProviderPublic[];
  activeId: string | null | undefined;
  health: Record<string, ProviderHealth>;
  switching: boolean;
  onSwitch: (id: string) => void;
  onTest: (id: string) => void;
}

export function ProviderStatus({ providers, activeId, health, switching, onSwitch, onTest }: ProviderStatusProps) {
  const active = providers.find((p) => p.id === activeId);
  const usable = providers.filter((p) => p.enabled || p.id === activeId);
  const state = active ? health[active.id] : undefined;
  return (
    <div className="provider-status">
      <label htmlFor="provider-select" className="visually-hidden">
        Provider
      </label>
      <select
        id="provider-select"
        value={activeId ?? ""}
        disabled={switching || !usable.length}
        onChange={(e) => onSwitch(e.target.value)}
        title={active ? `${active.name}: ${active.base_url}` : "No provider is active"}
      >
        {!activeId && <option value="">No provider</option>}
        {usable.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
            {health[p.id]?.health === "offline" ? " (offline)" : ""}
          </option>
        ))}
      </select>
      {active && (
        <button
          type="button"
          className="pill-button"
          onClick={() => onTest(active.id)}
          title={state?.message ? `${state.message} (test again)` : "Test the connection again"}
          aria-label={`Provider status: ${state?.health ?? "unknown"}. Test again`}
        >
          <StatusPill health={state} />
        </button>
      )}
    </div>
  );
}
