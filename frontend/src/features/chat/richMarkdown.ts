/**
 * The heavy half of Markdown rendering, loaded on demand (see Markdown.tsx): math with KaTeX
 * and code highlighting with highlight.js (its common languages), with their styles.
 */
import "katex/dist/katex.min.css";
import type { Options } from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import remarkMath from "remark-math";
import "./highlight.css";
import rehypeMath from "./rehypeMath";

export const remarkPlugins: NonNullable<Options["remarkPlugins"]> = [[remarkMath, { singleDollarTextMath: false }]];

export const rehypePlugins: NonNullable<Options["rehypePlugins"]> = [
  // trust: false (the default) keeps \href and \url from making links; errors render in place.
  [rehypeMath, { strict: "ignore", trust: false }],
  // Only code marked with a language; guessing colours prose in unlabelled blocks.
  [rehypeHighlight, { detect: false }],
];
