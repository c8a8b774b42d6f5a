/**
 * Model aliases (`/api/v1/llm-providers/aliases`): names clients send (`claude-sonnet-4-5`,
 * `default`) for a provider's model. A change refreshes the model lists too, since the chat
 * picker shows the aliases beside the models.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ApiClient } from "../../api/client";
import type { AliasCreate, AliasPublic, AliasUpdate, AliasWritten } from "../../api/types";

export const ALIASES_PATH = "/api/v1/llm-providers/aliases";
const KEY = ["aliases"] as const;

export interface AliasesApi {
  aliases: AliasPublic[];
  loading: boolean;
  error: unknown;
  create: (body: AliasCreate) => Promise<AliasWritten>;
  update: (id: string, body: AliasUpdate) => Promise<AliasWritten>;
  remove: (id: string) => Promise<void>;
}

export function useAliases(client: ApiClient): AliasesApi {
  const queryClient = useQueryClient();
  const list = useQuery({ queryKey: KEY, queryFn: () => client.get<AliasPublic[]>(ALIASES_PATH) });
  const changed = async () => {
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: KEY }),
      queryClient.invalidateQueries({ queryKey: ["models"] }),
    ]);
  };
  const create = useMutation({
    mutationFn: (body: AliasCreate) => client.post<AliasWritten>(ALIASES_PATH, body),
    onSuccess: changed,
  });
  const update = useMutation({
    mutationFn: ({ id, body }: { id: string; body: AliasUpdate }) =>
      client.patch<AliasWritten>(`${ALIASES_PATH}/${encodeURIComponent(id)}`, body),
    onSuccess: changed,
  });
  const remove = useMutation({
    mutationFn: (id: string) => client.del<unknown>(`${ALIASES_PATH}/${encodeURIComponent(id)}`),
    onSuccess: changed,
  });
  return {
    aliases: list.data ?? [],
    loading: list.isFetching,
    error: list.error,
    create: (body) => create.mutateAsync(body),
    update: (id, body) => update.mutateAsync({ id, body }),
    remove: async (id) => {
      await remove.mutateAsync(id);
    },
  };
}
