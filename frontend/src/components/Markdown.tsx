/**
 * Markdown for model output that cannot run anything: raw HTML in the text is turned into plain
 * text before rendering (no rehype-raw, no dangerouslySetInnerHTML), unsafe URLs are dropped by
 * react-markdown's default urlTransform, and images become links (no requests to third parties).
 */
import { memo, type ReactNode } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import { CopyButton } from "./CopyButton";

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
  children?: HastNode[];
}

function hastText(node: HastNode | undefined): string {
  if (!node) return "";
  if (node.type === "text") return node.value ?? "";
  return (node.children ?? []).map(hastText).join("");
}

const components: Components = {
  a({ href, children }) {
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
    const code = hastText(node as HastNode | undefined).replace(/\n$/, "");
    return (
      <div className="code-block">
        <div className="code-actions">
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

const REMARK = [remarkGfm, remarkHtmlAsText];

export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return (
    <ReactMarkdown remarkPlugins={REMARK} components={components}>
      {text}
    </ReactMarkdown>
  );
});
