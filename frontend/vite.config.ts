/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The gateway serves the build from bigshot_llm/static (see bigshot_llm/web/static.py).
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../src/bigshot_llm/static",
    emptyOutDir: true,
    // No inline scripts anywhere: the page runs under script-src 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/health": "http://127.0.0.1:8000",
    },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    restoreMocks: true,
    // A hang catcher, not a speed target: a form test that types and clicks through jsdom
    // took over 5 s (the default) while two test suites shared the machine.
    testTimeout: 30_000,
  },
});
