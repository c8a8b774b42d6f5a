// The shared tokens and base styles first: every feature's CSS comes after them and wins.
import "./styles/tokens.css";
import "./styles/base.css";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app/App";
import { adoptKeyFromFragment, loadKey } from "./features/auth/auth";
import { applyTheme, storedTheme } from "./ui/theme";

applyTheme(storedTheme());
const initialKey = adoptKeyFromFragment() ?? loadKey();
const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 5_000 } },
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App initialKey={initialKey} />
    </QueryClientProvider>
  </StrictMode>,
);
