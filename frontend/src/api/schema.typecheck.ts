/**
 * Compile-time checks that the generated types are the ones in force: `tsc -b` (in `npm run
 * build`) fails if a field below stops being missing, or a used one disappears. Never imported.
 */
import type { Conversation, ConversationMessage, ProviderPublic, StreamCreate } from "./types";

declare const conversation: Conversation;
declare const message: ConversationMessage;
declare const provider: ProviderPublic;

export const used = [conversation.active_stream_id, message.status, provider.owner_id];

// @ts-expect-error the schema has no such field, so the UI may not read it
export const missing = conversation.no_such_field;

// @ts-expect-error a request with an unknown field is refused by tsc as by the API
export const extra: StreamCreate = { message: "hi", no_such_field: 1 };
