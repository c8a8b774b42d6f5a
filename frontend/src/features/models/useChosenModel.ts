/**
 * The model a chat uses: the saved one if the active provider has it (or it is an alias the
 * caller may use), else the provider's
 * first loaded model; an automatic choice is remembered once the saved preferences are known
 * (else it would overwrite the saved model before it arrived).
 */
import { useEffect, useMemo } from "react";
import type { AliasEntry, ModelInfo } from "../../api/types";
import type { Settings } from "../settings/usePreferences";
import { defaultModel } from "./useModels";

export function useChosenModel({
  models,
  aliases = [],
  modelsProviderId,
  activeId,
  modelsLoading,
  settings,
  prefsKnown,
  update,
}: {
  models: ModelInfo[];
  aliases?: AliasEntry[];
  modelsProviderId: string | null;
  activeId: string | null | undefined;
  modelsLoading: boolean;
  settings: Settings;
  prefsKnown: boolean;
  update: (patch: Partial<Settings>) => void;
}): string | null {
  const chosen = useMemo(() => {
    const saved = settings.model;
    if (saved && (models.some((m) => m.id === saved) || aliases.some((a) => a.name === saved))) return saved;
    return defaultModel(models);
  }, [models, aliases, settings.model]);
  const ready = (!modelsLoading || models.length > 0) && modelsProviderId === activeId;
  useEffect(() => {
    if (prefsKnown && ready && chosen && chosen !== settings.model) update({ model: chosen });
  }, [chosen, prefsKnown, ready, settings.model, update]);
  return chosen;
}
