/**
 * History: new chat, the conversation list and the account footer.
 *
 * The list is one stop in the tab order (a roving tabindex): arrow keys, Home and End move
 * between chats, Enter opens one, F2 renames it and Delete asks to delete it; the pencil and
 * bin buttons are for the mouse. Older chats load as the list scrolls to its end.
 */
import { useEffect, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import type { Conversation } from "../../api/types";
import { FileButton } from "../../ui/FileButton";
import { PencilIcon, PlusIcon, SearchIcon, TrashIcon, UploadIcon } from "../../ui/icons";
import type { SearchApi } from "./useSearch";
import "./history.css";

interface SidebarProps {
  conversations: Conversation[];
  currentId: string | null;
  /** Conversations with an answer being written right now. */
  running: ReadonlySet<string>;
  loading: boolean;
  available: boolean;
  error: string | null;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
  onNew: () => void;
  onOpen: (id: string) => void;
  onRename: (id: string, title: string) => Promise<void>;
  onDelete: (id: string) => Promise<void>;
  footer: ReactNode;
  search?: SearchApi;
  /** Import a conversation from a JSON file; resolves to an error sentence, or null. */
  onImport?: (file: File) => Promise<string | null>;
}

/** The snippet with the query's first match marked. */
function Highlighted({ text, query }: { text: string; query: string }) {
  const at = text.toLowerCase().indexOf(query.trim().toLowerCase());
  if (!query.trim() || at < 0) return <>{text}</>;
  const end = at + query.trim().length;
  return (
    <>
      {text.slice(0, at)}
      <mark>{text.slice(at, end)}</mark>
      {text.slice(end)}
    </>
  );
}

function SearchResults({ search, currentId, onOpen }: { search: SearchApi; currentId: string | null; onOpen: (id: string) => void }) {
  if (search.error) return <p className="error-text small">{search.error}</p>;
  if (!search.hits.length)
    return <p className="muted small">{search.searching ? "Searching…" : "No chat mentions that."}</p>;
  return (
    <>
      <p className="muted small search-count" role="status">
        {search.total === 1 ? "1 chat" : `${search.total.toLocaleString("en")} chats`}
      </p>
      <ul className="search-results" aria-label="Search results" data-testid="search-results">
        {search.hits.map((hit) => (
          <li key={hit.conversation.id} className={hit.conversation.id === currentId ? "current" : undefined}>
            <button type="button" className="search-hit" onClick={() => onOpen(hit.conversation.id)}>
              <span className="conversation-title">{hit.conversation.title || "New chat"}</span>
              <span className="search-snippet">
                <Highlighted text={hit.snippet} query={search.query} />
              </span>
            </button>
          </li>
        ))}
        {search.hasMore && (
          <li>
            <button type="button" className="ghost small" onClick={search.loadMore}>
              More results
            </button>
          </li>
        )}
      </ul>
    </>
  );
}

function when(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const now = new Date();
  if (date.toDateString() === now.toDateString())
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return date.toLocaleDateString([], { month: "short", day: "numeric" });
}

interface ItemProps {
  conversation: Conversation;
  current: boolean;
  running: boolean;
  tabbable: boolean;
  onFocus: () => void;
  onKeyDown: (event: KeyboardEvent<HTMLButtonElement>) => void;
  onOpen: () => void;
  onRename: (title: string) => Promise<void>;
  onDelete: () => Promise<void>;
  mode: "view" | "rename" | "confirm";
  setMode: (mode: "view" | "rename" | "confirm") => void;
}

function Item(props: ItemProps) {
  const { conversation, current, running, tabbable, mode, setMode } = props;
  const [draft, setDraft] = useState(conversation.title ?? "");
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const title = conversation.title || "New chat";

  useEffect(() => {
    if (mode === "rename") {
      setDraft(conversation.title ?? "");
      input.current?.select();
    }
  }, [conversation.title, mode]);

  if (mode === "rename") {
    const save = async () => {
      const next = draft.trim();
      if (!next || next === conversation.title) {
        setMode("view");
        return;
      }
      try {
        await props.onRename(next);
        setMode("view");
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
                e.stopPropagation();
                setMode("view");
              }
            }}
          />
        </form>
        {error && <p className="error-text small">{error}</p>}
      </li>
    );
  }

  return (
    <li className={`conversation${current ? " current" : ""}`} data-id={conversation.id}>
      <button
        type="button"
        className="conversation-open"
        tabIndex={tabbable ? 0 : -1}
        onClick={props.onOpen}
        onFocus={props.onFocus}
        onKeyDown={props.onKeyDown}
        aria-current={current ? "page" : undefined}
      >
        <span className="conversation-title">{title}</span>
        {running ? (
          <span className="conversation-running" title="An answer is being written">
            <span className="spinner-dot" aria-hidden="true" />
            <span className="visually-hidden">answering</span>
          </span>
        ) : (
          <span className="conversation-time">{when(conversation.updated_at)}</span>
        )}
      </button>
      {mode === "confirm" ? (
        <span className="confirm" role="group" aria-label={`Delete "${title}"?`}>
          <button type="button" className="danger small" onClick={() => void props.onDelete()} autoFocus>
            Delete
          </button>
          <button type="button" className="ghost small" onClick={() => setMode("view")}>
            Keep
          </button>
        </span>
      ) : (
        <span className="conversation-actions">
          <button
            type="button"
            className="icon-button small"
            tabIndex={-1}
            aria-label={`Rename "${title}"`}
            title="Rename (F2)"
            onClick={() => setMode("rename")}
          >
            <PencilIcon size={14} />
          </button>
          <button
            type="button"
            className="icon-button small"
            tabIndex={-1}
            aria-label={`Delete "${title}"`}
            title="Delete (Delete key)"
            onClick={() => setMode("confirm")}
          >
            <TrashIcon size={14} />
          </button>
        </span>
      )}
    </li>
  );
}

export function Sidebar(props: SidebarProps) {
  const { conversations, currentId, loading, available, error, onNew, onOpen, footer, search } = props;
  const [importing, setImporting] = useState(false);
  const [importError, setImportError] = useState<string | null>(null);
  const list = useRef<HTMLUListElement>(null);
  const sentinel = useRef<HTMLLIElement>(null);
  const [focusId, setFocusId] = useState<string | null>(null);
  const [modes, setModes] = useState<Record<string, "rename" | "confirm">>({});
  const tabbableId =
    (focusId && conversations.some((c) => c.id === focusId) && focusId) ||
    (currentId && conversations.some((c) => c.id === currentId) && currentId) ||
    conversations[0]?.id;

  const more = useRef({ hasMore: props.hasMore, loadingMore: props.loadingMore, load: props.onLoadMore });
  more.current = { hasMore: props.hasMore, loadingMore: props.loadingMore, load: props.onLoadMore };
  useEffect(() => {
    const el = sentinel.current;
    if (!el || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver((entries) => {
      const m = more.current;
      if (entries.some((e) => e.isIntersecting) && m.hasMore && !m.loadingMore) m.load();
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [conversations.length]);

  const focusItem = (index: number) => {
    const buttons = list.current?.querySelectorAll<HTMLButtonElement>(".conversation-open");
    if (!buttons?.length) return;
    const clamped = Math.max(0, Math.min(buttons.length - 1, index));
    buttons[clamped].focus();
    if (clamped === buttons.length - 1 && props.hasMore && !props.loadingMore) props.onLoadMore();
  };

  const setMode = (id: string, mode: "view" | "rename" | "confirm") =>
    setModes((all) => {
      const next = { ...all };
      if (mode === "view") delete next[id];
      else next[id] = mode;
      return next;
    });

  const onKeyDown = (index: number, id: string) => (event: KeyboardEvent<HTMLButtonElement>) => {
    const keys: Record<string, () => void> = {
      ArrowDown: () => focusItem(index + 1),
      ArrowUp: () => focusItem(index - 1),
      Home: () => focusItem(0),
      End: () => focusItem(conversations.length - 1),
      F2: () => setMode(id, "rename"),
      Delete: () => setMode(id, "confirm"),
    };
    const action = keys[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  };

  return (
    <nav className="sidebar-inner" aria-label="Conversations">
      <div className="brand">
        <span className="logo" aria-hidden="true">
          b
        </span>
        <span>bigshot-llm</span>
      </div>
      <div className="sidebar-new">
        <button type="button" className="new-chat" onClick={onNew}>
          <PlusIcon size={16} /> New chat
        </button>
        {props.onImport && (
          <FileButton
            label="Import a chat"
            title="Import a chat (a JSON file from Export as JSON)"
            disabled={importing}
            accept="application/json,.json"
            testId="import-file"
            onFiles={async ([file]) => {
              if (!file || !props.onImport) return;
              setImporting(true);
              setImportError(await props.onImport(file));
              setImporting(false);
            }}
          >
            <UploadIcon size={16} />
          </FileButton>
        )}
      </div>
      {importError && (
        <p className="error-text small" role="alert" data-testid="import-error">
          {importError}
        </p>
      )}
      {search && (
        <div className="history-search" role="search">
          <SearchIcon size={15} />
          <label className="visually-hidden" htmlFor="history-search">
            Search chats
          </label>
          <input
            id="history-search"
            type="search"
            placeholder="Search chats"
            value={search.query}
            maxLength={200}
            onChange={(e) => search.setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape" && search.query) {
                e.stopPropagation();
                search.setQuery("");
              }
            }}
          />
        </div>
      )}
      <h2 className="sidebar-heading" id="history-heading">
        {search?.active ? "Search results" : "History"}
      </h2>
      <p id="history-keys" className="visually-hidden">
        Arrow keys move between chats, Enter opens one, F2 renames it, Delete deletes it.
      </p>
      <div className="conversation-scroll">
        {search?.active ? (
          <SearchResults search={search} currentId={currentId} onOpen={onOpen} />
        ) : !available ? (
          <p className="muted small">History is not available on this gateway.</p>
        ) : loading && !conversations.length ? (
          <p className="muted small">Loading…</p>
        ) : error && !conversations.length ? (
          <p className="error-text small">{error}</p>
        ) : conversations.length === 0 ? (
          <p className="muted small">No conversations yet.</p>
        ) : (
          <ul
            className="conversation-list"
            ref={list}
            aria-labelledby="history-heading"
            aria-describedby="history-keys"
          >
            {conversations.map((c, i) => (
              <Item
                key={c.id}
                conversation={c}
                current={c.id === currentId}
                running={props.running.has(c.id)}
                tabbable={c.id === tabbableId}
                onFocus={() => setFocusId(c.id)}
                onKeyDown={onKeyDown(i, c.id)}
                onOpen={() => onOpen(c.id)}
                onRename={(title) => props.onRename(c.id, title)}
                onDelete={async () => {
                  await props.onDelete(c.id);
                  setMode(c.id, "view");
                }}
                mode={modes[c.id] ?? "view"}
                setMode={(mode) => setMode(c.id, mode)}
              />
            ))}
            <li ref={sentinel} className="conversation-more" aria-hidden={!props.hasMore || undefined}>
              {props.hasMore && (
                <button type="button" className="ghost small" disabled={props.loadingMore} onClick={props.onLoadMore}>
                  {props.loadingMore ? "Loading…" : "Show older chats"}
                </button>
              )}
            </li>
          </ul>
        )}
      </div>
      <div className="sidebar-footer">{footer}</div>
    </nav>
  );
}
