/**
 * The message box: Enter sends, Shift+Enter adds a line, the button turns into Stop. The text
 * is cleared when sent and put back if the gateway refused it (nothing was stored then).
 */
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { SendIcon, StopIcon } from "../../ui/icons";

interface ComposerProps {
  /** Resolves true once the gateway took the message, false when it refused it. */
  onSend: (text: string) => Promise<boolean>;
  onStop: () => void;
  busy: boolean;
  stopping: boolean;
  disabled?: boolean;
  disabledReason?: string | null;
}

export function Composer({ onSend, onStop, busy, stopping, disabled, disabledReason }: ComposerProps) {
  const [text, setText] = useState("");
  const area = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    const el = area.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 240)}px`;
  }, [text]);

  // Back to the box when an answer ends (not on load: the tab order starts at the top).
  const wasBusy = useRef(busy);
  useEffect(() => {
    if (wasBusy.current && !busy) area.current?.focus();
    wasBusy.current = busy;
  }, [busy]);

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    const message = text.trim();
    if (!message || busy || disabled) return;
    setText("");
    void onSend(message).then((accepted) => {
      if (!accepted) setText((now) => (now.trim() ? now : message));
    });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  };

  return (
    <form className="composer" onSubmit={submit} aria-label="Send a message">
      <label htmlFor="composer-input" className="visually-hidden">
        Message
      </label>
      <textarea
        id="composer-input"
        ref={area}
        rows={1}
        value={text}
        placeholder={disabledReason ?? "Send a message"}
        title="Enter sends, Shift+Enter adds a new line"
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        aria-describedby={disabledReason ? "composer-hint" : undefined}
      />
      {/* Distinct keys: the Stop button is never reused as the submit button (see compare). */}
      {busy ? (
        <button
          key="stop"
          type="button"
          className="send-button stop"
          onClick={onStop}
          disabled={stopping}
          aria-label="Stop generating"
          title="Stop generating"
        >
          <StopIcon size={16} />
        </button>
      ) : (
        <button
          key="send"
          type="submit"
          className="send-button"
          disabled={!text.trim() || disabled}
          aria-label="Send message"
          title="Send"
        >
          <SendIcon size={18} />
        </button>
      )}
      {disabledReason && (
        <p id="composer-hint" className="visually-hidden">
          {disabledReason}
        </p>
      )}
    </form>
  );
}
