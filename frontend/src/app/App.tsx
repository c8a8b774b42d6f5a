/** Sign-in gate: a stored API key and `/api/v1/me`, else the sign-in form. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState } from "react";
import { ApiError, createClient, errorMessage } from "../api/client";
import type { Me } from "../api/types";
import { adoptKeyFromFragment, clearKey, saveKey } from "../features/auth/auth";
import { SignIn } from "../features/auth/SignIn";
import { Workspace } from "./Workspace";

const REJECTED = "That API key was rejected (401 unauthorized). Check it and sign in again.";

export function App({ initialKey }: { initialKey: string | null }) {
  const queryClient = useQueryClient();
  const [key, setKey] = useState<string | null>(initialKey);
  const [message, setMessage] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  const signOut = useCallback(
    (why: string | null = null) => {
      clearKey();
      if (window.location.pathname !== "/") window.history.replaceState(null, "", "/");
      setKey(null);
      setMessage(why);
      queryClient.clear(); // nothing of this user stays cached for the next one
    },
    [queryClient],
  );

  const client = useMemo(
    () => (key ? createClient({ apiKey: key, onUnauthorized: () => signOut(REJECTED) }) : null),
    [key, signOut],
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

  const who = useQuery({
    // `attempt`: submitting the same key again checks it again.
    queryKey: ["me", key, attempt],
    queryFn: () => client!.get<Me>("/api/v1/me"),
    enabled: !!client,
    retry: false,
    staleTime: Infinity,
  });
  const failure = who.error && !(who.error instanceof ApiError && who.error.unauthorized) ? errorMessage(who.error) : null;

  if (client && who.data) return <Workspace me={who.data} client={client} onSignOut={() => signOut()} />;
  if (client && who.isPending)
    return (
      <main className="signin">
        <p className="muted" role="status">
          Signing in…
        </p>
      </main>
    );
  return (
    <SignIn
      message={message ?? failure}
      onSubmit={(value) => {
        saveKey(value);
        setMessage(null);
        setKey(value);
        setAttempt((n) => n + 1);
      }}
    />
  );
}
