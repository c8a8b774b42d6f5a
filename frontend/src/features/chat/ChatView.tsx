/** The conversation: messages (auto-scrolling while at the bottom) and an empty-state welcome. */
import { useEffect, useLayoutEffect, useRef, type ReactNode } from "react";
import { Message, type MessageActions, type UiMessage } from "./Message";
import "./chat.css";

const SUGGESTIONS = [
  "Explain what a context window is, in two sentences.",
  "Write a haiku about local language models.",
  "Give me a Python function that reverses a linked list.",
];

interface ChatViewProps {
  messages: UiMessage[];
  model: string | null;
  loading: boolean;
  /** Shown above the conversation: a load error or a notice. */
  banner?: ReactNode;
  onSuggestion: (text: string) => void;
  canSend: boolean;
  actions?: MessageActions;
}

export function ChatView({ messages, model, loading, banner, onSuggestion, canSend, actions }: ChatViewProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const onScroll = () => {
      stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    };
    el.addEventListener("scroll", onScroll, { passive: true });
    return () => el.removeEventListener("scroll", onScroll);
  }, []);

  const last = messages[messages.length - 1];
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [messages.length, last?.content, last?.reasoning, last?.status]);

  if (loading) {
    return (
      <div className="chat-scroll" ref={scroller}>
        <p className="muted center">Loading the conversation…</p>
      </div>
    );
  }

  return (
    <div className="chat-scroll" ref={scroller}>
      {banner}
      {messages.length === 0 ? (
        <div className="welcome">
          <h1>What can I help with?</h1>
          <p className="muted">{model ? `Chatting with ${model}` : "Pick a model to start."}</p>
          <div className="suggestions">
            {SUGGESTIONS.map((s) => (
              <button
                key={s}
                type="button"
                className="suggestion"
                disabled={!canSend}
                onClick={() => void onSuggestion(s)}
              >
                {s}
              </button>
            ))}
          </div>
        </div>
      ) : (
        <div className="messages" role="log" aria-live="polite" aria-relevant="additions">
          {messages.map((m, i) => (
            <Message key={m.id} message={m} actions={actions} last={i === messages.length - 1} />
          ))}
        </div>
      )}
    </div>
  );
}
