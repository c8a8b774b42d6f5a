/** History: new chat, the conversation list (open, rename, delete), and the account footer. */
import { useEffect, useRef, useState, type ReactNode } from "react";
import type { Conversation } from "../types/api";
import { PencilIcon, PlusIcon, TrashIcon } from "./icons";

interface SidebarProps {
  conversations: Conversation[];
  currentId: string | null;
  loading: boolean;
  available: boolean;
  error: string | null;
  onNew: () => void;
  onOpen: (id: string) => void;
  onRename: (id: string, title: string) => Promise<void>;
  onDelete: (id: string) => Promise<void>;
  footer: ReactNode;
}

function when(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const now = new Date();
  if (date.toDateString() === now.toDateString())
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return date.toLocaleDateString([], { month: "short", day: "numeric" });
}

function Item({
  conversation,
  current,
  onOpen,
  onRename,
  onDelete,
}: {
  conversation: Conversation;
  current: boolean;
  onOpen: () => void;
  onRename: (title: string) => Promise<void>;
  onDelete: () => Promise<void>;
}) {
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [draft, setDraft] = useState(conversation.title ?? "");
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const title = conversation.title || "New chat";

  useEffect(() => {
    if (editing) input.current?.select();
  }, [editing]);

  if (editing) {
    const save = async () => {
      const next = draft.trim();
      if (!next || next === conversation.title) {
        setEditing(false);
        return;
      }
      try {
        await onRename(next);
        setEditing(false);
        setError(null);
      } catch (err) {
        setError(err instanceof Error ? err.message : String(err));
      }
    };
    return (
      <li className="conversation editing">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <label className="visually-hidden" htmlFor={`rename-${conversation.id}`}>
            Rename conversation
          </label>
          <input
            id={`rename-${conversation.id}`}
            ref={input}
            value={draft}
            maxLength={200}
            onChange={(e) => setDraft(e.target.value)}
            onBlur={() => void save()}
            onKeyDown={(e) => {
              if (e.key === "Escape") {
                setDraft(conversation.title ?? "");
                setEditing(false);
              }
            }}
          />
        </form>
        {error && <p className="error-text small">{error}</p>}
      </li>
    );
  }

  return (
    <li className={`conversation${current ? " current" : ""}`}>
      <button
        type="button"
        className="conversation-open"
        onClick={onOpen}
        aria-current={current ? "page" : undefined}
      >
        <span className="conversation-title">{title}</span>
        <span className="conversation-time">{when(conversation.updated_at)}</span>
      </button>
      {confirming ? (
        <span className="confirm" role="group" aria-label={`Delete "${title}"?`}>
          <button
            type="button"
            className="danger small"
            onClick={() => void onDelete()}
            autoFocus
          >
            Delete
          </button>
          <button type="button" className="ghost small" onClick={() => setConfirming(false)}>
            Keep
          </button>
        </span>
      ) : (
        <span className="conversation-actions">
          <button
            type="button"
            className="icon-button small"
            aria-label={`Rename "${title}"`}
            title="Rename"
            onClick={() => {
              setDraft(conversation.title ?? "");
              setEditing(true);
            }}
          >
            <PencilIcon size={14} />
          </button>
          <button
            type="button"
            className="icon-button small"
            aria-label={`Delete "${title}"`}
            title="Delete"
            onClick={() => setConfirming(true)}
          >
            <TrashIcon size={14} />
          </button>
        </span>
      )}
    </li>
  );
}

export function Sidebar(props: SidebarProps) {
  const { conversations, currentId, loading, available, error, onNew, onOpen, footer } = props;
  return (
    <nav className="sidebar-inner" aria-label="Conversations">
      <div className="brand">
        <span className="logo" aria-hidden="true">
          b
        </span>
        <span>bigshot-llm</span>
      </div>
      <button type="button" className="new-chat" onClick={onNew}>
        <PlusIcon size={16} /> New chat
      </button>
      <h2 className="sidebar-heading">History</h2>
      <div className="conversation-scroll">
        {!available ? (
          <p className="muted small">History is not available on this gateway.</p>
        ) : loading && !conversations.length ? (
          <p className="muted small">Loading…</p>
        ) : error ? (
          <p className="error-text small">{error}</p>
        ) : conversations.length === 0 ? (
          <p className="muted small">No conversations yet.</p>
        ) : (
          <ul className="conversation-list">
            {conversations.map((c) => (
              <Item
                key={c.id}
                conversation={c}
                current={c.id === currentId}
                onOpen={() => onOpen(c.id)}
                onRename={(title) => props.onRename(c.id, title)}
                onDelete={() => props.onDelete(c.id)}
              />
            ))}
          </ul>
        )}
      </div>
      <div className="sidebar-footer">{footer}</div>
    </nav>
  );
}
