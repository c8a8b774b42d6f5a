/** The sidebar's footer: who is signed in, the theme and sign-out. */
import type { Me, ThemeChoice } from "../../api/types";
import { LogOutIcon } from "../../ui/icons";
import { ThemeToggle } from "../../ui/ThemeToggle";

export function Account({
  me,
  theme,
  onTheme,
  onSignOut,
}: {
  me: Me;
  theme: ThemeChoice;
  onTheme: (theme: ThemeChoice) => void;
  onSignOut: () => void;
}) {
  return (
    <div className="account">
      <div className="account-name">
        <span className="avatar" aria-hidden="true">
          {me.name.slice(0, 1).toUpperCase()}
        </span>
        <span>
          {me.name}
          <span className="muted small"> · {me.role}</span>
        </span>
      </div>
      <div className="account-actions">
        <ThemeToggle value={theme} onChange={onTheme} />
        <button type="button" className="icon-button" onClick={onSignOut} aria-label="Sign out" title="Sign out">
          <LogOutIcon />
        </button>
      </div>
    </div>
  );
}
