/**
 * A small menu button (WAI-ARIA menu pattern): Enter/Space/ArrowDown open it, arrows move,
 * Escape or a click outside closes it and focus returns to the button.
 */
import { useEffect, useId, useRef, useState, type ReactNode } from "react";

export interface MenuItem {
  label: string;
  icon?: ReactNode;
  onSelect: () => void;
  hidden?: boolean;
  /** On the item's <li>, e.g. "narrow-only" for an entry shown on phones only. */
  className?: string;
}

/** The menu's items that are displayed (some show on phones only). */
function visibleItems(root: HTMLElement | null): HTMLElement[] {
  const all = Array.from(root?.querySelectorAll<HTMLElement>("[role=menuitem]") ?? []);
  return all.filter((el) => el.getClientRects().length > 0);
}

export function Menu({ label, icon, items, className }: { label: string; icon: ReactNode; items: MenuItem[]; className?: string }) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const listId = useId();
  const shown = items.filter((i) => !i.hidden);

  useEffect(() => {
    if (!open) return;
    visibleItems(root.current)[0]?.focus();
    const outside = (event: MouseEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", outside);
    return () => document.removeEventListener("mousedown", outside);
  }, [open]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };

  return (
    <div className={`menu${className ? ` ${className}` : ""}`} ref={root}>
      <button
        ref={button}
        type="button"
        className="icon-button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? listId : undefined}
        aria-label={label}
        title={label}
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") {
            e.preventDefault();
            setOpen(true);
          }
        }}
      >
        {icon}
      </button>
      {open && (
        <ul
          id={listId}
          className="menu-list"
          role="menu"
          aria-label={label}
          onKeyDown={(e) => {
            const items = visibleItems(root.current);
            const at = items.indexOf(document.activeElement as HTMLElement);
            if (e.key === "Escape") {
              e.preventDefault();
              e.stopPropagation();
              close();
            } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
              e.preventDefault();
              const step = e.key === "ArrowDown" ? 1 : -1;
              items[(at + step + items.length) % items.length]?.focus();
            } else if (e.key === "Tab") {
              setOpen(false);
            }
          }}
        >
          {shown.map((item) => (
            <li key={item.label} role="none" className={item.className}>
              <button
                type="button"
                role="menuitem"
                tabIndex={-1}
                onClick={() => {
                  setOpen(false);
                  item.onSelect();
                }}
              >
                {item.icon}
                {item.label}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
