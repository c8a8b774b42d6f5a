/**
 * The parameters of the chat on screen: an open conversation keeps its own (system prompt,
 * temperature, max tokens: `settings` on the server, saved a moment after each change); a new
 * chat starts from the user's defaults (the preferences), which it stores when it is created.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "../../api/client";
import { errorMessage } from "../../api/client";
import type { Conversation, Preset } from "../../api/types";
import type { Settings } from "./usePreferences";

export interface ChatParams {
  temperature: number;
  max_tokens: number;
  system_prompt: string;
}

export type ParamsScope = "chat" | "defaults";

export function paramsOf(conversation: Conversation | null, defaults: Settings): ChatParams {
  const saved = conversation?.settings ?? {};
  return {
    temperature: saved.temperature ?? defaults.temperature,
    max_tokens: saved.max_tokens ?? defaults.max_tokens,
    system_prompt: saved.system ?? (conversation ? "" : defaults.system_prompt),
  };
}

export function presetParams(preset: Preset, current: ChatParams): ChatParams {
  return {
    temperature: preset.temperature ?? current.temperature,
    max_tokens: preset.max_tokens ?? current.max_tokens,
    system_prompt: preset.system_prompt ?? "",
  };
}

export function useChatParams(
  client: ApiClient,
  conversation: Conversation | null,
  defaults: Settings,
  updateDefaults: (patch: Partial<Settings>) => void,
  saveDelayMs = 400,
) {
  const queryClient = useQueryClient();
  const id = conversation?.id ?? null;
  const [edits, setEdits] = useState<{ id: string; values: ChatParams } | null>(null);
  const [status, setStatus] = useState<string>("Saved with this chat");
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    setEdits(null);
    setStatus("Saved with this chat");
    return () => {
      if (timer.current) clearTimeout(timer.current);
    };
  }, [id]);

  const params = id && edits?.id === id ? edits.values : paramsOf(conversation, defaults);

  const save = useCallback(
    async (conversationId: string, values: ChatParams) => {
      setStatus("Saving…");
      try {
        const updated = await client.patch<Conversation>(`/api/v1/conversations/${encodeURIComponent(conversationId)}`, {
          settings: {
            temperature: values.temperature,
            max_tokens: values.max_tokens,
            system: values.system_prompt.trim() || null,
          },
        });
        queryClient.setQueryData(["conversation", conversationId], (old: Conversation | undefined) =>
          old ? { ...old, settings: updated.settings } : updated,
        );
        setStatus("Saved with this chat");
      } catch (err) {
        setStatus(`Not saved: ${errorMessage(err)}`);
      }
    },
    [client, queryClient],
  );

  const update = useCallback(
    (patch: Partial<ChatParams>) => {
      if (!id) {
        updateDefaults(patch);
        return;
      }
      const values = { ...params, ...patch };
      setEdits({ id, values });
      setStatus("Saving…");
      if (timer.current) clearTimeout(timer.current);
      timer.current = setTimeout(() => void save(id, values), saveDelayMs);
    },
    [id, params, save, saveDelayMs, updateDefaults],
  );

  const scope: ParamsScope = id ? "chat" : "defaults";
  return { params, update, scope, status };
}
