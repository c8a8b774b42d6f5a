/**
 * The signed-in app's layout: the chat (top bar, conversation, composer) first in the page
 * and the tab order, the history sidebar beside it, and the dialogs. State lives in the
 * feature hooks; this file wires them together.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import { errorBody } from "../api/client";
import { describeError, isMissing, PROVIDER_DOWN_CODES } from "../api/errors";
import type { Conversation, ConversationFile, ContentPart, ErrorBody, Me, StreamCreate } from "../api/types";
import { ChatView } from "../features/chat/ChatView";
import { Composer } from "../features/chat/Composer";
import { contextUse, ContextMeter } from "../features/chat/ContextMeter";
import { download, fileName, toJson, toMarkdown } from "../features/chat/exportChat";
import type { MessageActions, UiMessage } from "../features/chat/Message";
import { isActive, useStreamRegistry, useStreams, type LiveStream } from "../features/chat/streams";
import { useConversationView } from "../features/chat/useConversationView";
import { CompareDialog } from "../features/compare/CompareDialog";
import { Account } from "../features/history/Account";
import { Sidebar } from "../features/history/Sidebar";
import { HISTORY_KEY, useConversations } from "../features/history/useConversations";
import { useSearch } from "../features/history/useSearch";
import { JitLoadingNotice } from "../features/models/ModelLoadControls";
import { ModelInfoPanel } from "../features/models/ModelInfoPanel";
import { useChosenModel } from "../features/models/useChosenModel";
import { contextLength, useModels, useProviderKinds } from "../features/models/useModels";
import { AliasesSection } from "../features/providers/AliasesPanel";
import { ProvidersDialog } from "../features/providers/ProvidersDialog";
import { useProviders } from "../features/providers/useProviders";
import { SettingsPanel } from "../features/settings/SettingsPanel";
import { presetParams, useChatParams } from "../features/settings/useChatParams";
import { API_MAX_TOKENS, usePreferences } from "../features/settings/usePreferences";
import { UsageDialog } from "../features/usage/UsageDialog";
import { ErrorText } from "../ui/ErrorText";
import { applyTheme } from "../ui/theme";
import { navigate, useConversationRoute } from "./route";
import { ShortcutsDialog } from "./ShortcutsDialog";
import { useShortcuts } from "./shortcuts";
import { TopBar, type Panel } from "./TopBar";
import "./app.css";

type StartTurn = (
  request: Partial<StreamCreate>,
  meta?: { after?: string | null; continues?: string | null; prefix?: string },
) => Promise<boolean>;

const DELETED_CHAT_NOTICE = "That chat no longer exists (it was deleted). This is a new chat.";
const focusComposer = () => document.getElementById("composer-input")?.focus();

export function Workspace({ me, client, onSignOut }: { me: Me; client: ApiClient; onSignOut: () => void }) {
  const queryClient = useQueryClient();
  const prefs = usePreferences(client, me.user_id);
  const { settings, update } = prefs;
  const providers = useProviders(client);
  const models = useModels(client, providers.activeId);
  const history = useConversations(client);
  const search = useSearch(client);
  const kinds = useProviderKinds(client);
  const conversationId = useConversationRoute();

  // The stream of a new chat, shown until the server names its conversation.
  const [draftKey, setDraftKey] = useState<string | null>(null);
  const draft = useRef<string | null>(null);
  draft.current = draftKey;
  const [notice, setNotice] = useState<string | null>(null);
  const [sendError, setSendError] = useState<ErrorBody | null>(null);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [panel, setPanel] = useState<Panel | null>(null);
  const [drawerOpen, setDrawerOpen] = useState(false);

  useEffect(() => applyTheme(settings.theme), [settings.theme]);

  const chosenModel = useChosenModel({
    models: models.models,
    aliases: models.aliases,
    modelsProviderId: models.providerId,
    activeId: providers.activeId,
    modelsLoading: models.loading,
    settings,
    prefsKnown: prefs.sync !== "loading",
    update,
  });
  const activeProvider = providers.providers.find((p) => p.id === providers.activeId);
  // An alias of a model on the active provider shows (and sizes the context by) that model.
  const chosenAlias = models.aliases.find((a) => a.name === chosenModel && a.provider_id === providers.activeId);
  const selectedModel = models.models.find((m) => m.id === (chosenAlias?.model ?? chosenModel));
  const modelContext = contextLength(selectedModel);
  const maxTokensLimit = Math.min(API_MAX_TOKENS, modelContext ?? API_MAX_TOKENS);

  const { reportOutcome } = providers;
  const registry = useStreamRegistry(client, {
    onConversation: (stream) => {
      if (stream.conversationId && draft.current === stream.key) navigate(stream.conversationId, true);
      void queryClient.invalidateQueries({ queryKey: HISTORY_KEY });
    },
    onFinish: (stream: LiveStream) => {
      if (stream.conversationId) {
        void queryClient.invalidateQueries({ queryKey: ["messages", stream.conversationId] });
        void queryClient.invalidateQueries({ queryKey: ["conversation", stream.conversationId] });
      }
      void queryClient.invalidateQueries({ queryKey: HISTORY_KEY });
      void queryClient.invalidateQueries({ queryKey: ["search"] });
      if (stream.phase === "done" || (stream.phase === "stopped" && stream.text)) reportOutcome(stream.providerId, true);
      else if (stream.error && PROVIDER_DOWN_CODES.has(stream.error.code))
        reportOutcome(stream.providerId, false, describeError(stream.error).sentence);
    },
  });
  const streams = useStreams(registry);
  const view = useConversationView({ client, registry, streams, conversationId, draftKey });
  const live = view.live;
  const streaming = isActive(live);
  const chatParams = useChatParams(client, view.conversation, settings, update);
  const params = chatParams.params;
  const maxTokens = Math.min(params.max_tokens, maxTokensLimit);
  const vision = !!(selectedModel?.vision ?? selectedModel?.type === "vlm");

  // A deleted chat's address (or a mistyped one) becomes a new chat, with a word about it.
  const leaveDeletedChat = useCallback(() => {
    navigate(null, true);
    setNotice(DELETED_CHAT_NOTICE);
  }, []);
  useEffect(() => {
    if (view.gone) leaveDeletedChat();
  }, [view.gone, leaveDeletedChat]);

  /** Start a turn: a new message, or a regenerated, edited or continued one. */
  const startTurnRef = useRef<StartTurn>(async () => false);
  const startTurn = useCallback<StartTurn>(
    async (request, meta = {}) => {
      setSendError(null);
      setNotice(null);
      const target = request.conversation_id === undefined ? conversationId : request.conversation_id;
      const { key, result } = registry.start(
        {
          conversation_id: target,
          provider: providers.activeId ?? null,
          model: chosenModel,
          temperature: params.temperature,
          max_tokens: maxTokens,
          system: params.system_prompt.trim() || null,
          ...request,
        },
        { providerId: providers.activeId ?? null, model: chosenModel, ...meta },
      );
      if (!target) setDraftKey(key);
      const { error } = await result;
      if (error && target && request.message !== undefined && isMissing(error, "conversation_id")) {
        // Sent before the page learnt the chat was deleted: the message opens a new chat.
        leaveDeletedChat();
        return startTurnRef.current({ ...request, conversation_id: null }, meta);
      }
      if (error) {
        setSendError(error);
        if (PROVIDER_DOWN_CODES.has(error.code))
          reportOutcome(providers.activeId, false, describeError(error).sentence);
        return false;
      }
      return true;
    },
    [chosenModel, conversationId, leaveDeletedChat, maxTokens, params, providers.activeId, registry, reportOutcome],
  );
  startTurnRef.current = startTurn;

  const send = useCallback(
    (text: string, images: string[] = []): Promise<boolean> => {
      const parts: ContentPart[] = [
        ...(text ? [{ type: "text" as const, text }] : []),
        ...images.map((url) => ({ type: "image_url" as const, image_url: { url } })),
      ];
      return startTurn({ message: images.length ? parts : text });
    },
    [startTurn],
  );

  const refreshConversation = useCallback(() => {
    if (!conversationId) return;
    void queryClient.invalidateQueries({ queryKey: ["messages", conversationId] });
    void queryClient.invalidateQueries({ queryKey: ["conversation", conversationId] });
  }, [conversationId, queryClient]);

  // One object while nothing changes: the messages are memoised and a token re-renders none.
  const actions = useMemo((): MessageActions => {
    const messagePath = (m: UiMessage, rest = "") =>
      `/api/v1/conversations/${encodeURIComponent(conversationId ?? "")}/messages/${encodeURIComponent(m.id)}${rest}`;
    return {
    busy: streaming || !conversationId,
    onRegenerate: (m) => void startTurn({ regenerate_message_id: m.id }, { after: m.parentId ?? null }),
    onContinue: (m) => void startTurn({ continue_message_id: m.id }, { continues: m.id, prefix: m.content }),
    onEdit: (m, text) => {
      const images = m.images ?? [];
      const message: StreamCreate["message"] = images.length
        ? [{ type: "text", text }, ...images.map((url) => ({ type: "image_url" as const, image_url: { url } }))]
        : text;
      return startTurn({ edit_message_id: m.id, message }, { after: m.parentId ?? null });
    },
    onDelete: (m) => {
      setSendError(null);
      client.del(messagePath(m)).then(refreshConversation, (err: unknown) => setSendError(errorBody(err)));
    },
    onVersion: (m, id) => {
      setSendError(null);
      client
        .post<Conversation>(messagePath({ ...m, id }, "/select"))
        .then(refreshConversation, (err: unknown) => setSendError(errorBody(err)));
    },
    };
  }, [client, conversationId, refreshConversation, startTurn, streaming]);
  const regenerateLast = () => {
    if (streaming || !conversationId) return false;
    const lastAnswer = [...view.items].reverse().find((m) => m.role === "assistant" && !m.live);
    if (!lastAnswer || view.items[view.items.length - 1] !== lastAnswer) return false;
    actions.onRegenerate(lastAnswer);
    return true;
  };

  const importChat = useCallback(
    async (file: File): Promise<string | null> => {
      let body: unknown;
      try {
        body = JSON.parse(await file.text());
      } catch {
        return `${file.name} is not a JSON file (choose one made by "Export as JSON").`;
      }
      try {
        const made = await client.post<Conversation>("/api/v1/conversations/import", body);
        void queryClient.invalidateQueries({ queryKey: HISTORY_KEY });
        navigate(made.id);
        setDrawerOpen(false);
        return null;
      } catch (err) {
        return `Could not import ${file.name}: ${errorBody(err).message}`;
      }
    },
    [client, queryClient],
  );

  const newChat = useCallback(() => {
    navigate(null);
    setDraftKey(null);
    setNotice(null);
    setSendError(null);
    setDrawerOpen(false);
    focusComposer();
  }, []);

  const openConversation = useCallback((id: string) => {
    navigate(id);
    setNotice(null);
    setSendError(null);
    setDrawerOpen(false);
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

  const stop = useCallback(() => {
    if (!live || !isActive(live)) return false;
    void registry.stop(live.key);
    return true;
  }, [live, registry]);

  useShortcuts({ newChat, focusComposer, stop, regenerate: regenerateLast, help: () => setPanel("shortcuts") });

  // A model that is not loaded is loaded by LM Studio on first use: say so until text flows,
  // then refresh the list so the picker shows it loaded. Only where load state is reported.
  const jitLoading = streaming && !live?.text && selectedModel?.state === "not-loaded";
  const wasJitLoading = useRef(false);
  const reloadModels = models.reload;
  useEffect(() => {
    if (wasJitLoading.current && !jitLoading) void reloadModels(true);
    wasJitLoading.current = jitLoading;
  }, [jitLoading, reloadModels]);

  const noModelReason = !providers.activeId
    ? "No provider is active: add one under Providers."
    : !chosenModel && !models.loading
      ? `No chat model available on this provider${models.error ? ` (${models.error})` : ""}.`
      : null;

  const runningIds = useMemo(
    () => new Set(streams.filter((s) => isActive(s) && s.conversationId).map((s) => s.conversationId!)),
    [streams],
  );
  const exportChat = (format: "md" | "json") => {
    const input = { conversation: view.conversation, messages: view.items, model: chosenModel };
    if (format === "md") download(fileName(input, "md"), toMarkdown(input), "text/markdown");
    else if (!conversationId) download(fileName(input, "json"), toJson(input), "application/json");
    else
      // The server's file has every branch and imports back as it was.
      client.get<ConversationFile>(`/api/v1/conversations/${encodeURIComponent(conversationId)}/export`).then(
        (file) => download(fileName(input, "json"), `${JSON.stringify(file, null, 2)}\n`, "application/json"),
        (err: unknown) => setSendError(errorBody(err)),
      );
  };

  const banner = (
    <>
      {notice && (
        <p className="chat-notice" role="status" data-testid="chat-notice">
          {notice}
        </p>
      )}
      {view.loadError && (
        <div className="chat-banner">
          <ErrorText error={errorBody(view.loadError)} prefix="Could not open the conversation:" />
        </div>
      )}
    </>
  );

  return (
    <div className={`layout${drawerOpen ? " drawer-open" : ""}`}>
      <a className="skip-link" href="#composer-input">
        Skip to the message box
      </a>
      <div className="main">
        <TopBar
          client={client}
          me={me}
          drawerOpen={drawerOpen}
          onToggleDrawer={() => setDrawerOpen((o) => !o)}
          models={models}
          chosenModel={chosenModel}
          selectedModel={selectedModel}
          onPickModel={(id) => update({ model: id })}
          providers={providers}
          activeProvider={activeProvider}
          kinds={kinds}
          onSwitchProvider={(id) => void switchProvider(id)}
          settingsOpen={settingsOpen}
          onToggleSettings={() => setSettingsOpen((o) => !o)}
          onOpen={setPanel}
          onExport={view.items.length ? exportChat : null}
        />
        {providers.error && (
          <p className="banner error" role="alert">
            {providers.error}
          </p>
        )}
        {settingsOpen && (
          <SettingsPanel
            id="settings-panel"
            settings={params}
            sync={prefs.sync}
            onChange={chatParams.update}
            scope={chatParams.scope}
            statusText={chatParams.scope === "chat" ? chatParams.status : undefined}
            presets={settings.presets}
            onApplyPreset={(preset) => chatParams.update(presetParams(preset, params))}
            onSavePreset={(name) =>
              update({
                presets: [
                  ...settings.presets.filter((p) => p.name.toLowerCase() !== name.toLowerCase()),
                  {
                    name,
                    system_prompt: params.system_prompt.trim() || null,
                    temperature: params.temperature,
                    max_tokens: params.max_tokens,
                  },
                ],
              })
            }
            onDeletePreset={(name) => update({ presets: settings.presets.filter((p) => p.name !== name) })}
            onClose={() => setSettingsOpen(false)}
            maxTokensLimit={maxTokensLimit}
            limitSource={
              chosenModel && modelContext ? `${chosenModel}: ${modelContext.toLocaleString("en")}-token context` : null
            }
          />
        )}
        <ChatView
          messages={view.items}
          model={chosenModel}
          loading={view.loading}
          banner={banner}
          onSuggestion={(text) => void send(text)}
          canSend={!noModelReason && !streaming}
          actions={actions}
        />
        <div className="composer-wrap">
          {jitLoading && chosenModel && <JitLoadingNotice model={chosenModel} />}
          {sendError && (
            <div className="send-error">
              <ErrorText error={sendError} prefix="Not sent:" />
            </div>
          )}
          <Composer
            onSend={send}
            onStop={stop}
            busy={streaming}
            stopping={live?.phase === "stopping"}
            disabled={!!noModelReason}
            disabledReason={noModelReason}
            vision={vision}
            model={chosenModel}
          />
          <div className="composer-bar">
            <p className="composer-note">
              {chosenModel
                ? `${chosenModel} · temperature ${params.temperature} · max ${maxTokens} tokens`
                : " "}
            </p>
            <ContextMeter use={contextUse(view.items)} limit={modelContext} />
          </div>
        </div>
      </div>
      <aside className="sidebar" id="sidebar" aria-label="History and account">
        <Sidebar
          conversations={history.conversations}
          currentId={conversationId}
          running={runningIds}
          loading={history.loading}
          available={history.available}
          error={history.error}
          hasMore={history.hasMore}
          loadingMore={history.loadingMore}
          onLoadMore={history.loadMore}
          onNew={newChat}
          onOpen={openConversation}
          onRename={history.rename}
          onDelete={deleteConversation}
          search={search}
          onImport={importChat}
          footer={<Account me={me} theme={settings.theme} onTheme={(theme) => update({ theme })} onSignOut={onSignOut} />}
        />
      </aside>
      {drawerOpen && <div className="scrim" onClick={() => setDrawerOpen(false)} aria-hidden="true" />}
      {panel === "usage" && <UsageDialog client={client} me={me} onClose={() => setPanel(null)} />}
      {panel === "compare" && (
        <CompareDialog
          client={client}
          temperature={params.temperature}
          maxTokens={maxTokens}
          initial={activeProvider && chosenModel ? { provider: activeProvider.name, model: chosenModel } : undefined}
          onClose={() => setPanel(null)}
        />
      )}
      {panel === "providers" && (
        <ProvidersDialog me={me} api={providers} kinds={kinds} onClose={() => setPanel(null)}>
          <AliasesSection me={me} client={client} providers={providers.providers} />
        </ProvidersDialog>
      )}
      {panel === "shortcuts" && <ShortcutsDialog onClose={() => setPanel(null)} />}
      {panel === "model-info" && selectedModel && (
        <ModelInfoPanel
          model={selectedModel}
          provider={activeProvider}
          client={client}
          me={me}
          kinds={kinds}
          onChanged={() => void models.reload(true)}
          onRefresh={() => void models.reload(true)}
          onClose={() => setPanel(null)}
        />
      )}
    </div>
  );
}
