/**
 * The message box: Enter sends, Shift+Enter adds a line, the button turns into Stop. The text
 * is cleared when sent and put back if the gateway refused it (nothing was stored then).
 *
 * Images for vision models: pick them (the paperclip), paste them or drop them on the box;
 * they show as thumbnails to remove before sending.
 */
import { useEffect, useRef, useState, type ClipboardEvent, type DragEvent, type FormEvent, type KeyboardEvent } from "react";
import { FileButton } from "../../ui/FileButton";
import { CloseIcon, PaperclipIcon, SendIcon, StopIcon } from "../../ui/icons";
import { type Attachment, imageFiles, MAX_IMAGES, toAttachment } from "./attachments";

interface ComposerProps {
  /** Resolves true once the gateway took the message, false when it refused it. */
  onSend: (text: string, images: string[]) => Promise<boolean>;
  onStop: () => void;
  busy: boolean;
  stopping: boolean;
  disabled?: boolean;
  disabledReason?: string | null;
  /** The chosen model reads images. */
  vision?: boolean;
  model?: string | null;
}

export function Composer({ onSend, onStop, busy, stopping, disabled, disabledReason, vision, model }: ComposerProps) {
  const [text, setText] = useState("");
  const [images, setImages] = useState<Attachment[]>([]);
  const [hint, setHint] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
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

  const attach = async (files: File[]) => {
    if (!files.length) return;
    if (!vision) {
      setHint(`${model ?? "This model"} cannot read images: pick a vision model to send them.`);
      return;
    }
    const room = MAX_IMAGES - images.length;
    if (room <= 0) {
      setHint(`At most ${MAX_IMAGES} images per message.`);
      return;
    }
    try {
      const added = await Promise.all(files.slice(0, room).map(toAttachment));
      setImages((now) => [...now, ...added].slice(0, MAX_IMAGES));
      setHint(files.length > room ? `At most ${MAX_IMAGES} images per message.` : null);
    } catch (err) {
      setHint(err instanceof Error ? err.message : String(err));
    }
  };

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    const message = text.trim();
    const sentImages = vision ? images : [];
    if ((!message && !sentImages.length) || busy || disabled) return;
    setText("");
    setImages([]);
    setHint(null);
    void onSend(message, sentImages.map((i) => i.url)).then((accepted) => {
      if (!accepted) {
        setText((now) => (now.trim() ? now : message));
        setImages((now) => (now.length ? now : sentImages));
      }
    });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  };

  const onPaste = (event: ClipboardEvent<HTMLTextAreaElement>) => {
    const files = imageFiles(event.clipboardData?.items);
    if (files.length) {
      event.preventDefault();
      void attach(files);
    }
  };

  const onDrop = (event: DragEvent<HTMLFormElement>) => {
    setDragging(false);
    const files = imageFiles(event.dataTransfer?.files);
    if (files.length || event.dataTransfer?.types.includes("Files")) {
      event.preventDefault();
      void attach(files);
    }
  };

  const canSend = (!!text.trim() || (vision && images.length > 0)) && !disabled;
  return (
    <form
      className={`composer${dragging ? " dragging" : ""}${images.length ? " with-images" : ""}`}
      onSubmit={submit}
      aria-label="Send a message"
      onDragOver={(e) => {
        if (e.dataTransfer?.types.includes("Files")) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      {images.length > 0 && (
        <ul className="attachments" aria-label="Attached images">
          {images.map((image, i) => (
            <li key={`${i}-${image.name}`}>
              <img src={image.url} alt={image.name} />
              <button
                type="button"
                className="icon-button small attachment-remove"
                aria-label={`Remove ${image.name}`}
                onClick={() => setImages((now) => now.filter((_, j) => j !== i))}
              >
                <CloseIcon size={12} />
              </button>
            </li>
          ))}
        </ul>
      )}
      {hint && (
        <p className="composer-hint" role="status" data-testid="composer-hint">
          {hint}
        </p>
      )}
      <div className="composer-row">
        <FileButton
          className="icon-button attach-button"
          label="Attach images"
          title={vision ? "Attach images (or paste, or drop them here)" : `${model ?? "This model"} cannot read images`}
          disabled={!vision || disabled}
          accept="image/*"
          multiple
          testId="image-picker"
          onFiles={(files) => void attach(imageFiles(files))}
        >
          <PaperclipIcon size={18} />
        </FileButton>
        <label htmlFor="composer-input" className="visually-hidden">
          Message
        </label>
        <textarea
          id="composer-input"
          ref={area}
          rows={1}
          value={text}
          placeholder={disabledReason ?? (vision ? "Send a message, or paste or drop images" : "Send a message")}
          title="Enter sends, Shift+Enter adds a new line"
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
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
          <button key="send" type="submit" className="send-button" disabled={!canSend} aria-label="Send message" title="Send">
            <SendIcon size={18} />
          </button>
        )}
      </div>
      {disabledReason && (
        <p id="composer-hint" className="visually-hidden">
          {disabledReason}
        </p>
      )}
    </form>
  );
}
