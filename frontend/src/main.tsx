import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { adoptKeyFromFragment, loadKey } from "./auth";
import { applyTheme, storedTheme } from "./theme";
import "./styles.css";

applyTheme(storedTheme());
const initialKey = adoptKeyFromFragment() ?? loadKey();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App initialKey={initialKey} />
  </StrictMode>,
);
