/** The active provider: a picker (switching activates it for this user) and its health. */
import type { ProviderHealth } from "../hooks/useProviders";
import type { ProviderPublic } from "../types/api";

const LABEL: Record<ProviderHealth["health"], string> = {
  online: "online",
  offline: "offline",
  stale: "stale",
  checking: "checking",
  unknown: "unknown",
};

export function StatusPill({ health }: { health: ProviderHealth | undefined }) {
  const h = health?.health ?? "unknown";
  const latency =
    health?.latencyMs != null && h !== "offline" ? ` · ${Math.round(health.latencyMs)} ms` : "";
  return (
    <span
      className={`status-pill ${h}`}
      title={health?.message ?? undefined}
      data-testid="provider-status"
    >
      <span className="dot" aria-hidden="true" />
      {LABEL[h]}
      {latency}
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

export function ProviderStatus({
  providers,
  activeId,
  health,
  switching,
  onSwitch,
  onTest,
}: ProviderStatusProps) {
  const active = providers.find((p) => p.id === activeId);
  const usable = providers.filter((p) => p.enabled || p.id === activeId);
  return (
    <div className="provider-status">
      <label htmlFor="provider-select" className="visually-hidden">
        Provider
      </label>
      <div className="select-row">
        <select
          id="provider-select"
          value={activeId ?? ""}
          disabled={switching || !usable.length}
          onChange={(e) => onSwitch(e.target.value)}
          aria-describedby="provider-details"
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
            title="Test the connection again"
            aria-label={`Provider status: ${health[active.id]?.health ?? "unknown"}. Test again`}
          >
            <StatusPill health={health[active.id]} />
          </button>
        )}
      </div>
      <p id="provider-details" className="provider-details">
        {active ? (
          <>
            <span className="provider-url">{active.base_url}</span>
            {health[active.id]?.health === "offline" && health[active.id]?.message && (
              <span className="error-text"> · {health[active.id]?.message}</span>
            )}
          </>
        ) : (
          "No provider is active"
        )}
      </p>
    </div>
  );
}
