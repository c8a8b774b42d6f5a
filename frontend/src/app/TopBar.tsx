/**
 * The top bar, one row at every width: the history button (phones), the model choice, the
 * provider and its status, and the actions. On a phone the actions fold into "More".
 */
import type { ApiClient } from "../api/client";
import type { AliasEntry, Me, ModelInfo, ProviderKind, ProviderPublic } from "../api/types";
import { ModelLoadControls } from "../features/models/ModelLoadControls";
import { ModelSelect } from "../features/models/ModelSelect";
import { ProviderStatus } from "../features/providers/ProviderStatus";
import type { ProvidersApi } from "../features/providers/useProviders";
import { DownloadIcon, InfoIcon, KeyboardIcon, MenuIcon, MoreIcon, ServerIcon, SlidersIcon } from "../ui/icons";
import { Menu, type MenuItem } from "../ui/Menu";

export type Panel = "compare" | "usage" | "providers" | "shortcuts" | "model-info";

interface TopBarProps {
  client: ApiClient;
  me: Me;
  drawerOpen: boolean;
  onToggleDrawer: () => void;
  models: {
    models: ModelInfo[];
    aliases?: AliasEntry[];
    loading: boolean; error: string | null; reload: (refresh?: boolean) => Promise<void> };
  chosenModel: string | null;
  selectedModel: ModelInfo | undefined;
  onPickModel: (id: string) => void;
  providers: ProvidersApi;
  activeProvider: ProviderPublic | undefined;
  kinds: ProviderKind[] | null;
  onSwitchProvider: (id: string) => void;
  settingsOpen: boolean;
  onToggleSettings: () => void;
  onOpen: (panel: Panel) => void;
  onExport: ((format: "md" | "json") => void) | null;
}

export function TopBar(props: TopBarProps) {
  const { models, providers, selectedModel, onOpen } = props;
  const items: (MenuItem & { narrow?: boolean })[] = [
    { label: "Compare models", onSelect: () => onOpen("compare"), narrow: true },
    { label: "Usage", onSelect: () => onOpen("usage"), narrow: true },
    { label: "Settings", icon: <SlidersIcon size={16} />, onSelect: props.onToggleSettings, narrow: true },
    { label: "Providers", icon: <ServerIcon size={16} />, onSelect: () => onOpen("providers"), narrow: true },
    { label: "Keyboard shortcuts", icon: <KeyboardIcon size={16} />, onSelect: () => onOpen("shortcuts") },
    {
      label: "Export as Markdown",
      icon: <DownloadIcon size={16} />,
      onSelect: () => props.onExport?.("md"),
      hidden: !props.onExport,
    },
    {
      label: "Export as JSON",
      icon: <DownloadIcon size={16} />,
      onSelect: () => props.onExport?.("json"),
      hidden: !props.onExport,
    },
  ];
  return (
    <header className="topbar">
      <button
        type="button"
        className="icon-button menu-button"
        aria-label={props.drawerOpen ? "Close the history" : "Open the history"}
        aria-expanded={props.drawerOpen}
        aria-controls="sidebar"
        onClick={props.onToggleDrawer}
      >
        <MenuIcon />
      </button>
      <div className="topbar-model">
        <ModelSelect
          models={models.models}
          aliases={models.aliases}
          value={props.chosenModel}
          onChange={props.onPickModel}
          loading={models.loading}
          error={models.error}
        />
        <span className="wide-only">
          <ModelLoadControls
            client={props.client}
            me={props.me}
            provider={props.activeProvider}
            model={selectedModel}
            kinds={props.kinds}
            onChanged={() => void models.reload(true)}
          />
        </span>
        {selectedModel && (
          <button
            type="button"
            className="icon-button"
            aria-label="Model details"
            title="Model details"
            onClick={() => onOpen("model-info")}
          >
            <InfoIcon />
          </button>
        )}
      </div>
      <ProviderStatus
        providers={providers.providers}
        activeId={providers.activeId}
        health={providers.health}
        switching={providers.switching}
        onSwitch={props.onSwitchProvider}
        onTest={(id) => void providers.test(id)}
      />
      <div className="topbar-actions">
        <button type="button" className="ghost small wide-only" onClick={() => onOpen("compare")} title="Compare models side by side">
          Compare
        </button>
        <button type="button" className="ghost small wide-only" onClick={() => onOpen("usage")} title="Tokens, requests and latency">
          Usage
        </button>
        <button
          type="button"
          className={`icon-button wide-only${props.settingsOpen ? " pressed" : ""}`}
          aria-expanded={props.settingsOpen}
          aria-controls="settings-panel"
          aria-label="Settings"
          title="Settings"
          onClick={props.onToggleSettings}
        >
          <SlidersIcon />
        </button>
        <button
          type="button"
          className="icon-button wide-only"
          aria-label="Providers"
          title="Providers"
          onClick={() => onOpen("providers")}
        >
          <ServerIcon />
        </button>
        <Menu
          label="More"
          icon={<MoreIcon />}
          items={items.map((item) => ({ ...item, className: item.narrow ? "narrow-only" : undefined }))}
        />
      </div>
    </header>
  );
}
