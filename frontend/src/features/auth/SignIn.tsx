/** Sign in with an API key (stored in this browser only). */
import { useState, type FormEvent } from "react";
import "./signin.css";

export function SignIn({ onSubmit, message }: { onSubmit: (key: string) => void; message: string | null }) {
  const [key, setKey] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (key.trim()) onSubmit(key.trim());
  };
  return (
    <main className="signin">
      <form className="signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <div className="brand large">
          <span className="logo" aria-hidden="true">
            b
          </span>
          <span>bigshot-llm</span>
        </div>
        <h1 id="signin-title">Sign in</h1>
        <p className="muted">
          Paste an API key. The first admin key is printed by <code>make run</code>; admins create
          more with <code>bigshot-llm keys create</code>.
        </p>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="current-password"
          placeholder="bsk_…"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-invalid={message ? true : undefined}
          aria-describedby={message ? "signin-error" : undefined}
          autoFocus
        />
        {message && (
          <p id="signin-error" className="inline-error" role="alert">
            {message}
          </p>
        )}
        <button type="submit" className="primary" disabled={!key.trim()}>
          Sign in
        </button>
        <p className="hint">The key is kept in this browser's local storage until you sign out.</p>
      </form>
    </main>
  );
}
