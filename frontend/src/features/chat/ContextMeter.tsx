/** How much of the model's context the conversation fills: used / loaded context length. */
import type { UiMessage } from "./Message";

export interface ContextUse {
  used: number;
  estimated: boolean;
}

/** The last answer's prompt plus its completion: what the next question starts from. */
export function contextUse(messages: UiMessage[]): ContextUse | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role !== "assistant") continue;
    const reported = m.usage?.prompt_tokens;
    const prompt = !m.usageEstimated && reported != null ? reported : (m.context?.prompt_tokens_estimate ?? reported);
    if (prompt == null) continue;
    const completion = m.usage?.completion_tokens ?? (m.content ? Math.ceil(m.content.length / 4) : 0);
    const estimated = !!m.usageEstimated || reported == null || m.status === "streaming";
    return { used: prompt + completion, estimated };
  }
  return null;
}

export function ContextMeter({ use, limit }: { use: ContextUse | null; limit: number | null }) {
  if (!use || !limit) return null;
  const share = use.used / limit;
  const text = `${use.estimated ? "≈" : ""}${use.used.toLocaleString("en")} / ${limit.toLocaleString("en")} tokens`;
  return (
    <span
      className={`context-meter${share >= 0.9 ? " full" : share >= 0.7 ? " high" : ""}`}
      data-testid="context-meter"
      title={`Context used: ${text} (${Math.round(share * 100)}%). Older messages are left out once it is full.`}
    >
      <meter min={0} max={limit} low={limit * 0.7} high={limit * 0.9} optimum={0} value={Math.min(use.used, limit)}>
        {Math.round(share * 100)}%
      </meter>
      <span>{text}</span>
    </span>
  );
}
