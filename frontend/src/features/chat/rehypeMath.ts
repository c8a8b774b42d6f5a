/**
 * rehype plugin: remark-math's math nodes typeset by KaTeX, built as DOM nodes and read back
 * into the tree (hast-util-from-dom).
 *
 * rehype-katex instead renders an HTML string and parses it: parsing `style="…"` attributes
 * is refused (and reported) under the gateway's `style-src 'self'`. KaTeX's own DOM builder
 * sets each style through the CSSOM, which a strict CSP allows, and React applies the styles
 * the same way.
 */
import type { Element, ElementContent, Root } from "hast";
import { fromDom } from "hast-util-from-dom";
import { toText } from "hast-util-to-text";
import katex, { type KatexOptions } from "katex";
import { SKIP, visitParents } from "unist-util-visit-parents";

function classesOf(element: Element): string[] {
  const value = element.properties?.className;
  return Array.isArray(value) ? value.map(String) : [];
}

/** Typeset `tex` into hast children (a KaTeX error renders in place, as KaTeX draws it). */
export function typeset(tex: string, displayMode: boolean, options: KatexOptions = {}): ElementContent[] {
  const host = document.createElement("span");
  try {
    katex.render(tex, host, { ...options, displayMode, throwOnError: false });
  } catch (error) {
    const span = document.createElement("span");
    span.className = "katex-error";
    span.title = String(error);
    span.textContent = tex;
    host.replaceChildren(span);
  }
  const tree = fromDom(host) as Element;
  return tree.children;
}

export default function rehypeMath(options: KatexOptions = {}) {
  return (tree: Root) => {
    visitParents(tree, "element", (element, parents) => {
      const classes = classesOf(element);
      const languageMath = classes.includes("language-math");
      const display = classes.includes("math-display");
      const inline = classes.includes("math-inline");
      if (!languageMath && !display && !inline) return;
      let parent = parents[parents.length - 1];
      let scope: Element = element;
      let displayMode = display;
      // ```math fences: replace the whole <pre>.
      if (languageMath && element.tagName === "code" && parent?.type === "element" && parent.tagName === "pre") {
        scope = parent;
        parent = parents[parents.length - 2];
        displayMode = true;
      }
      if (!parent) return;
      const index = parent.children.indexOf(scope);
      parent.children.splice(index, 1, ...typeset(toText(scope, { whitespace: "pre" }), displayMode, options));
      return SKIP;
    });
  };
}
