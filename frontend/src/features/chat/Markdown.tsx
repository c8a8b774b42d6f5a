/**
 * Markdown for model output that cannot run anything: raw HTML in the text is turned into plain
 * text before rendering (no rehype-raw, no dangerouslySetInnerHTML), unsafe URLs are dropped by
 * react-markdown's default urlTransform (and such a link shows as plain text), and images
 * become links (no requests to third parties).
 *
 * Code highlighting (highlight.js through rehype-highlight) and math (KaTeX) load on demand, in
 * their own chunk, the first time a text has code or math. Both produce elements and classes
 * (KaTeX's sizes become React style objects, applied through the CSSOM), so they work under the
 * gateway's `style-src 'self'` policy.
 */
import { memo, useEffect, useState, type ReactNode } from "react";
import ReactMarkdown, { type Components, type Options } from "react-markdown";
import remarkGfm from "remark-gfm";
import { CopyButton } from "../../ui/CopyButton";
import "./markdown.css";

interface MdNode {
  type: string;
  value?: string;
  children?: MdNode[];
}

const BLOCK_PARENTS = new Set(["root", "blockquote", "listItem", "footnoteDefinition"]);

/** remark plugin: every `html` node (block or inline) becomes literal text. */
export function remarkHtmlAsText() {
  return (tree: MdNode) => {
    const walk = (node: MdNode) => {
      if (!node.children) return;
      node.children = node.children.map((child) => {
        if (child.type !== "html") {
          walk(child);
          return child;
        }
        const text: MdNode = { type: "text", value: child.value ?? "" };
        return BLOCK_PARENTS.has(node.type) ? { type: "paragraph", children: [text] } : text;
      });
    };
    walk(tree);
  };
}

interface HastNode {
  type: string;
  value?: string;
  tagName?: string;
  properties?: { className?: unknown };
  children?: HastNode[];
}

function hastText(node: HastNode | undefined): string {
  if (!node) return "";
  if (node.type === "text") return node.value ?? "";
  return (node.children ?? []).map(hastText).join("");
}

function codeLanguage(pre: HastNode | undefined): string | null {
  const code = pre?.children?.find((c) => c.tagName === "code");
  const classes = code?.properties?.className;
  const list = Array.isArray(classes) ? classes.map(String) : [];
  const lang = list.find((c) => c.startsWith("language-"));
  return lang ? lang.slice("language-".length) : null;
}

const components: Components = {
  a({ href, children }) {
    // An unsafe URL (javascript:, vbscript:, data:…) arrives here as "": show the words only.
    if (!href) return <span className="link-removed" title="link removed (unsafe address)">{children}</span>;
    return (
      <a href={href} target="_blank" rel="noopener noreferrer nofollow">
        {children}
      </a>
    );
  },
  img({ src, alt }) {
    const label = alt ? `image: ${alt}` : "image";
    if (typeof src !== "string" || !src) return <span>[{label}]</span>;
    return (
      <a href={src} target="_blank" rel="noopener noreferrer nofollow">
        [{label}]
      </a>
    );
  },
  pre({ node, children }) {
    const hast = node as HastNode | undefined;
    const code = hastText(hast).replace(/\n$/, "");
    const lang = codeLanguage(hast);
    return (
      <div className="code-block">
        <div className="code-head">
          <span className="code-lang">{lang ?? ""}</span>
          <CopyButton text={code} label="Copy code" />
        </div>
        <pre>{children as ReactNode}</pre>
      </div>
    );
  },
  table({ children }) {
    return (
      <div className="table-wrap">
        <table>{children}</table>
      </div>
    );
  },
};

type Plugins = { remark: NonNullable<Options["remarkPlugins"]>; rehype: NonNullable<Options["rehypePlugins"]> };

const BASE: Plugins = { remark: [remarkGfm, remarkHtmlAsText], rehype: [] };

/** Does the text need the highlighter or KaTeX? (fenced code, or $$ / \( / \[ math) */
export function needsRich(text: string): boolean {
  return /```|~~~|\$\$|\\\(|\\\[/.test(text);
}

/**
 * `\( … \)` and `\[ … \]` (what most models write) as remark-math's `$$` forms, outside code.
 * Single dollars are not math here: "$5 and $10" stays text.
 */
export function normalizeMath(text: string): string {
  if (!/\\\(|\\\[/.test(text)) return text;
  return text
    .split(/(```[\s\S]*?(?:```|$)|~~~[\s\S]*?(?:~~~|$)|`[^`\n]*`)/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part
            .replace(/\\\[([\s\S]+?)\\\]/g, (_, body: string) => `\n$$\n${body.trim()}\n$$\n`)
            .replace(/\\\(([\s\S]+?)\\\)/g, (_, body: string) => `$$${body.trim()}$$`),
    )
    .join("");
}

let rich: Plugins | null = null;
let loading: Promise<Plugins> | null = null;

export function loadRich(): Promise<Plugins> {
  loading ??= import("./richMarkdown").then((m) => {
    rich = {
      remark: [...BASE.remark, ...m.remarkPlugins],
      rehype: [...BASE.rehype, ...m.rehypePlugins],
    };
    return rich;
  });
  return loading;
}

/** The plugins to use: the rich set once loaded (and loading it when first needed). */
function usePlugins(wanted: boolean): Plugins {
  const [plugins, setPlugins] = useState<Plugins>(rich ?? BASE);
  useEffect(() => {
    if (!wanted || plugins !== BASE) return;
    let live = true;
    loadRich().then(
      (p) => live && setPlugins(p),
      () => undefined, // highlighting is a nicety: plain code still shows
    );
    return () => {
      live = false;
    };
  }, [plugins, wanted]);
  return plugins;
}

export const Markdown = memo(function Markdown({ text }: { text: string }) {
  const wanted = needsRich(text);
  const plugins = usePlugins(wanted);
  const source = plugins === BASE ? text : normalizeMath(text);
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={plugins.remark} rehypePlugins={plugins.rehype} components={components}>
        {source}
      </ReactMarkdown>
    </div>
  );
});
