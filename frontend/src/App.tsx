/** Sign-in gate: a stored API key and `/api/v1/me`, else the sign-in form. */
import { useCallback, useEffect, useMemo, useState } from "react";
import { ApiError, createClient, errorMessage } from "./api/client";
import { adoptKeyFromFragment, clearKey, saveKey } from "./auth";
import { SignIn } from "./components/SignIn";
import { Workspace } from "./components/Workspace";
import type { Me } from "./types/api";

const REJECTED = "That API key was rejected (401 unauthorized). Check it and sign in again.";

export function App({ initialKey }: { initialKey: string | null }) {
  const [key, setKey] = useState<string | null>(initialKey);
  const [me, setMe] = useState<Me | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [checking, setChecking] = useState(!!initialKey);
  const [attempt, setAttempt] = useState(0);

  const signOut = useCallback((why: string | null = null) => {
    clearKey();
    if (window.location.pathname !== "/") window.history.replaceState(null, "", "/");
    setKey(null);
    setMe(null);
    setMessage(why);
  }, []);

  const client = useMemo(
    () =>
      key
        ? createClient({
            apiKey: key,
            onUnauthorized: () => signOut(REJECTED),
          })
        : null,
    // `attempt` makes a new client (and a new check) when the same key is submitted again.
    [key, signOut, attempt],
  );

  // A `#key=` link opened in an already loaded tab only changes the fragment.
  useEffect(() => {
    const onHash = () => {
      const adopted = adoptKeyFromFragment();
      if (adopted) {
        setMessage(null);
        setKey(adopted);
        setAttempt((n) => n + 1);
      }
    };
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  useEffect(() => {
    if (!client) return;
    let cancelled = false;
    setChecking(true);
    client
      .get<Me>("/api/v1/me")
      .then((who) => {
        if (cancelled) return;
        setMe(who);
        setMessage(null);
      })
      .catch((err: unknown) => {
        if (cancelled) return;
        if (err instanceof ApiError && err.unauthorized) return; // signOut already ran
        setMessage(errorMessage(err));
      })
      .finally(() => {
        if (!cancelled) setChecking(false);
      });
    return () => {
      cancelled = true;
    };
  }, [client]);

  if (client && me) return <Workspace me={me} client={client} onSignOut={() => signOut()} />;
  if (client && checking)
    return (
      <main className="signin">
        <p className="muted" role="status">
          Signing in…
        </p>
      </main>
    );
  return (
    <SignIn
      message={message}
      onSubmit={(value) => {
        saveKey(value);
        setMessage(null);
        setKey(value);
        setAttempt((n) => n + 1);
      }}
    />
  );
}
