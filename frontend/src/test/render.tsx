/** Render inside a fresh TanStack Query client (no retries, nothing shared between tests). */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, type RenderOptions } from "@testing-library/react";
import type { ReactElement, ReactNode } from "react";

export function newQueryClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } } });
}

export function renderWithQuery(ui: ReactElement, options?: RenderOptions & { client?: QueryClient }) {
  const client = options?.client ?? newQueryClient();
  const wrapper = ({ children }: { children: ReactNode }) => (
    <QueryClientProvider client={client}>{children}</QueryClientProvider>
  );
  const result = render(ui, { wrapper, ...options });
  return { ...result, queryClient: client };
}
