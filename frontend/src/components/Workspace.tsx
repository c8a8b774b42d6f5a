/** The signed-in app: history sidebar, header (model, provider, settings), chat and composer. */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import { errorMessage } from "../api/client";
import { useChatStream, type StreamResult } from "../hooks/useChatStream";
import { loadMessages, useConversations } from "../hooks/useConversations";
import { defaultModel, useModels } from "../hooks/useModels";
import { usePreferences } from "../hooks/usePreferences";
import { useProviders } from "../hooks/useProviders";
import { applyTheme } from "../theme";
import type { ConversationMessage, Me } from "../types/api";
import { loadKey } from "../auth";
import { ChatView } from "./ChatView";
import { CompareDialog } from "./compare/CompareDialog";
import { UsageDialog } from "./usage/UsageDialog";
import { Composer } from "./Composer";
import { LogOutIcon, MenuIcon, ServerIcon, SlidersIcon } from "./icons";
import type { UiMessage } from "./Message";
import { ModelSelect } from "./ModelSelect";
import { JitLoadingNotice, ModelLoadControls, useProviderKinds } from "./models/ModelLoadControls";
import { ProviderStatus } from "./ProviderStatus";
import { ProvidersDialog } from "./ProvidersDialog";
import { SettingsPanel } from "./SettingsPanel";
import { Sidebar } from "./Sidebar";
import { ThemeToggle } from "./ThemeToggle";

function fromServer(m: ConversationMessage): UiMessage {
  return {
    id: m.id,
    role: m.role,
    content: m.content,
    status: m.status,
    model: m.model,
    stats: m.stats,
    usage: m.usage,
    error: m.status === "error" ? (m.error ?? { code: "error", message: "generation failed" }) : null,
  };
}

function fromStream(result: StreamResult, model: string | null): UiMessage {
  const status = result.phase === "done" ? "complete" : result.phase === "stopped" ? "cancelled" : "error";
  return {
    id: `${result.streamId ?? "local"}-${Date.now()}`,
    role: "assistant",
    content: result.text,
    status,
    model: result.done?.model ?? model,
    stats: result.done?.stats ?? null,
    usage: result.done?.usage ?? null,
    usageEstimated: result.done?.usage_estimated,
    error: result.error,
  };
}

let localIds = 0;

/** `/c/<id>` addresses a conversation, so a reload or a shared tab reopens it. */
export function conversationFromPath(path: string = window.location.pathname): string | null {
  const match = /^\/c\/([A-Za-z0-9_-]{1,64})\/?$/.exec(path);
  return match ? match[1] : null;
}

function navigate(id: string | null, replace = false) {
  const path = id ? `/c/${encodeURIComponent(id)}` : "/";
  if (window.location.pathname === path) return;
  if (replace) window.history.replaceState(null, "", path);
  else window.history.pushState(null, "", path);
}

export function Workspace({ me, client, onSignOut }: { me: Me; client: ApiClient; onSignOut: () => void }) {
  const prefs = usePreferences(client, me.user_id);
  const { settings, update } = prefs;
  const providers = useProviders(client);
  const models = useModels(client, providers.activeId);
  const history = useConversations(client);
  const kinds = useProviderKinds(client);

  const [conversationId, setConversationId] = useState<string | null>(null);
  const [messages, setMessages] = useState<UiMessage[]>([]);
  const [loadingConversation, setLoadingConversation] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [providersOpen, setProvidersOpen] = useState(false);
  const [compareOpen, setCompareOpen] = useState(false);
  const [usageOpen, setUsageOpen] = useState(false);
  const [drawerOpen, setDrawerOpen] = useState(false);
  const openSeq = useRef(0);

  useEffect(() => applyTheme(settings.theme), [settings.theme]);

  // The model: the saved one if this provider has it, else the provider's first loaded model.
  const modelsReady = !models.loading || models.models.length > 0;
  const modelsForActive = models.providerId === providers.activeId;
  const chosenModel = useMemo(() => {
    if (settings.model && models.models.some((m) => m.id === settings.model)) return settings.model;
    return defaultModel(models.models);
  }, [models.models, settings.model]);
  // Remember an automatic choice only once the saved preferences are known (else it would
  // overwrite the saved model before it arrived).
  const prefsKnown = prefs.sync !== "loading";
  useEffect(() => {
    if (prefsKnown && modelsReady && modelsForActive && chosenModel && chosenModel !== settings.model)
      update({ model: chosenModel });
  }, [chosenModel, modelsForActive, modelsReady, prefsKnown, settings.model, update]);

  const currentModel = useRef(chosenModel);
  currentModel.current = chosenModel;

  const stream = useChatStream({
    client,
    onConversation: (id) => {
      setConversationId(id);
      navigate(id, true);
    },
    onFinish: (result) => {
      setMessages((list) => [...list, fromStream(result, currentModel.current)]);
      void history.reload();
    },
  });

  const send = useCallback(
    (text: string) => {
      setMessages((list) => [
        ...list,
        { id: `local-${++localIds}`, role: "user", content: text, status: "complete" },
      ]);
      void stream
        .start({
          conversation_id: conversationId,
          provider: providers.activeId ?? null,
          model: chosenModel,
          message: text,
          temperature: settings.temperature,
          max_tokens: settings.max_tokens,
          system: settings.system_prompt.trim() || null,
        })
        .then((created) => {
          if (created && created.conversation_id !== conversationId) void history.reload();
        });
    },
    [chosenModel, conversationId, history, providers.activeId, settings, stream],
  );

  const newChat = useCallback((push = true) => {
    if (stream.active) stream.detach();
    if (push) navigate(null);
    openSeq.current++;
    setConversationId(null);
    setMessages([]);
    setLoadError(null);
    setDrawerOpen(false);
    document.getElementById("composer-input")?.focus();
  }, [stream]);

  const openConversation = useCallback(
    async (id: string, push = true) => {
      if (stream.active) stream.detach();
      if (push) navigate(id);
      const seq = ++openSeq.current;
      setConversationId(id);
      setDrawerOpen(false);
      setLoadingConversation(true);
      setLoadError(null);
      try {
        const list = await loadMessages(client, id);
        if (seq !== openSeq.current) return;
        setMessages(list.filter((m) => m.role !== "system").map(fromServer));
      } catch (err) {
        if (seq !== openSeq.current) return;
        setMessages([]);
        setLoadError(`Could not open the conversation: ${errorMessage(err)}`);
      } finally {
        if (seq === openSeq.current) setLoadingConversation(false);
      }
    },
    [client, stream],
  );

  // Open the conversation named by the address, and follow Back/Forward.
  const opener = useRef({ openConversation, newChat });
  opener.current = { openConversation, newChat };
  useEffect(() => {
    const fromPath = conversationFromPath();
    if (fromPath) void opener.current.openConversation(fromPath, false);
    const onPop = () => {
      const id = conversationFromPath();
      if (id) void opener.current.openConversation(id, false);
      else opener.current.newChat(false);
    };
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);

  const deleteConversation = useCallback(
    async (id: string) => {
      await history.remove(id);
      if (id === conversationId) newChat();
    },
    [conversationId, history, newChat],
  );

  const switchProvider = useCallback(
    async (id: string) => {
      if (id === providers.activeId) return;
      if (await providers.activate(id, "user")) update({ provider: id, model: null });
    },
    [providers, update],
  );

  const liveMessages = useMemo(() => {
    if (!stream.active) return messages;
    const live: UiMessage = {
      id: "live",
      role: "assistant",
      content: stream.state.text,
      status: "streaming",
      model: chosenModel,
      reconnecting: stream.state.phase === "reconnecting",
    };
    return [...messages, live];
  }, [chosenModel, messages, stream.active, stream.state.phase, stream.state.text]);

  // A model that is not loaded is loaded by LM Studio on first use: say so until text flows,
  // then refresh the list so the picker shows it loaded.
  const activeProvider = providers.providers.find((p) => p.id === providers.activeId);
  const selectedModel = models.models.find((m) => m.id === chosenModel);
  const jitLoading =
    stream.active && !stream.state.text && !!selectedModel && selectedModel.state !== "loaded";
  const wasJitLoading = useRef(false);
  const reloadModels = models.reload;
  useEffect(() => {
    if (wasJitLoading.current && !jitLoading) void reloadModels(true);
    wasJitLoading.current = jitLoading;
  }, [jitLoading, reloadModels]);

  const noModelReason = !providers.activeId
    ? "No provider is active: add one under Providers."
    : !chosenModel && !models.loading
      ? "No chat model available on this provider."
      : null;

  const sidebarFooter = (
    <div className="account">
      <div className="account-name">
        <span className="avatar" aria-hidden="true">
          {me.name.slice(0, 1).toUpperCase()}
        </span>
        <span>
          {me.name}
          <span className="muted small"> · {me.role}</span>
        </span>
      </div>
      <div className="account-actions">
        <ThemeToggle value={settings.theme} onChange={(theme) => update({ theme })} />
        <button type="button" className="icon-button" onClick={onSignOut} aria-label="Sign out" title="Sign out">
          <LogOutIcon />
        </button>
      </div>
    </div>
  );

  return (
    <div className={`layout${drawerOpen ? " drawer-open" : ""}`}>
      <a className="skip-link" href="#composer-input">
        Skip to the message box
      </a>
      <aside className="sidebar" id="sidebar" aria-label="History and account">
        <Sidebar
          conversations={history.conversations}
          currentId={conversationId}
          loading={history.loading}
          available={history.available}
          error={history.error}
          onNew={() => newChat()}
          onOpen={(id) => void openConversation(id)}
          onRename={history.rename}
          onDelete={deleteConversation}
          footer={sidebarFooter}
        />
      </aside>
      {drawerOpen && <div className="scrim" onClick={() => setDrawerOpen(false)} aria-hidden="true" />}
      <div className="main">
        <header className="topbar">
          <button
            type="button"
            className="icon-button menu-button"
            aria-label={drawerOpen ? "Close the history" : "Open the history"}
            aria-expanded={drawerOpen}
            aria-controls="sidebar"
            onClick={() => setDrawerOpen((o) => !o)}
          >
            <MenuIcon />
          </button>
          <ModelSelect
            models={models.models}
            value={chosenModel}
            onChange={(id) => update({ model: id })}
            loading={models.loading}
            error={models.error}
            onRefresh={() => void models.reload(true)}
          />
          <ModelLoadControls
            client={client}
            me={me}
            provider={activeProvider}
            model={selectedModel}
            kinds={kinds}
            onChanged={() => void models.reload(true)}
          />
          <ProviderStatus
            providers={providers.providers}
            activeId={providers.activeId}
            health={providers.health}
            switching={providers.switching}
            onSwitch={(id) => void switchProvider(id)}
            onTest={(id) => void providers.test(id)}
          />
          <div className="topbar-actions">
            <button
              type="button"
              className="ghost small"
              onClick={() => setCompareOpen(true)}
              title="Compare models side by side"
            >
              Compare
            </button>
            <button
              type="button"
              className="ghost small"
              onClick={() => setUsageOpen(true)}
              title="Tokens, requests and latency"
            >
              Usage
            </button>
            <button
              type="button"
              className={`icon-button${settingsOpen ? " pressed" : ""}`}
              aria-expanded={settingsOpen}
              aria-controls="settings-panel"
              aria-label="Settings"
              title="Settings"
              onClick={() => setSettingsOpen((o) => !o)}
            >
              <SlidersIcon />
            </button>
            <button
              type="button"
              className="icon-button"
              aria-label="Providers"
              title="Providers"
              onClick={() => setProvidersOpen(true)}
            >
              <ServerIcon />
            </button>
          </div>
        </header>
        {providers.error && (
          <p className="banner error" role="alert">
            {providers.error}
          </p>
        )}
        {settingsOpen && (
          <SettingsPanel
            id="settings-panel"
            settings={settings}
            sync={prefs.sync}
            onChange={update}
            onClose={() => setSettingsOpen(false)}
          />
        )}
        <ChatView
          messages={liveMessages}
          model={chosenModel}
          loading={loadingConversation}
          loadError={loadError}
          onSuggestion={send}
          canSend={!noModelReason && !stream.active}
        />
        <div className="composer-wrap">
          {jitLoading && chosenModel && <JitLoadingNotice model={chosenModel} />}
          <Composer
            onSend={send}
            onStop={() => void stream.stop()}
            busy={stream.active}
            stopping={stream.state.phase === "stopping"}
            disabled={!!noModelReason}
            disabledReason={noModelReason}
          />
          <p className="composer-note muted small">
            {chosenModel ? `${chosenModel} · temperature ${settings.temperature} · max ${settings.max_tokens} tokens` : " "}
          </p>
        </div>
      </div>
      {usageOpen && <UsageDialog client={client} onClose={() => setUsageOpen(false)} />}
      {compareOpen && (
        <CompareDialog
          client={client}
          apiKey={loadKey() ?? ""}
          temperature={settings.temperature}
          maxTokens={settings.max_tokens}
          initial={
            activeProvider && chosenModel ? { provider: activeProvider.name, model: chosenModel } : undefined
          }
          onClose={() => setCompareOpen(false)}
        />
      )}
      {providersOpen && (
        <ProvidersDialog me={me} api={providers} kinds={kinds} onClose={() => setProvidersOpen(false)} />
      )}
    </div>
  );
}
