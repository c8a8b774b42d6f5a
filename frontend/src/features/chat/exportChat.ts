/** A conversation as Markdown or JSON, made and downloaded in the browser (no API needed). */
import type { Conversation } from "../../api/types";
import type { UiMessage } from "./Message";

export interface ExportInput {
  conversation: Pick<Conversation, "id" | "title" | "model" | "provider" | "created_at"> | null;
  messages: UiMessage[];
  model: string | null;
}

export function exportTitle(input: ExportInput): string {
  return input.conversation?.title || input.messages.find((m) => m.role === "user")?.content.slice(0, 60) || "Chat";
}

export function toMarkdown(input: ExportInput, now = new Date()): string {
  const lines = [`# ${exportTitle(input)}`, ""];
  const model = input.conversation?.model ?? input.model;
  lines.push(`_Exported from bigshot-llm on ${now.toISOString().slice(0, 10)}${model ? ` · ${model}` : ""}_`, "");
  for (const m of input.messages) {
    if (m.status === "streaming") continue;
    const who = m.role === "user" ? "You" : m.role === "system" ? "System" : `Assistant${m.model ? ` (${m.model})` : ""}`;
    lines.push(`## ${who}`, "", m.content || (m.error ? `_${m.error.message}_` : "_(empty)_"), "");
    if (m.status === "cancelled") lines.push("_(stopped)_", "");
  }
  return lines.join("\n").replace(/\n+$/, "\n");
}

export function toJson(input: ExportInput, now = new Date()): string {
  const body = {
    format: "bigshot-llm.conversation",
    version: 1,
    exported_at: now.toISOString(),
    conversation: input.conversation
      ? { ...input.conversation }
      : { id: null, title: exportTitle(input), model: input.model, provider: null, created_at: null },
    messages: input.messages
      .filter((m) => m.status !== "streaming")
      .map((m) => ({
        id: m.id,
        role: m.role,
        content: m.content,
        status: m.status,
        model: m.model ?? null,
        usage: m.usage ?? null,
        stats: m.stats ? { ...m.stats, finish_reason: m.finishReason ?? null } : null,
        error: m.error ?? null,
      })),
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

export function fileName(input: ExportInput, extension: "md" | "json"): string {
  const slug = exportTitle(input)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 50);
  return `${slug || "chat"}.${extension}`;
}

/** Save `text` as a file (an object URL clicked through a temporary link). */
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.className = "offscreen";
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
