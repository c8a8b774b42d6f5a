import { render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { loadRich, Markdown, needsRich, normalizeMath } from "./Markdown";
import { typeset } from "./rehypeMath";
import { Message } from "./Message";

describe("markdown from the model cannot run anything", () => {
  it("keeps an <img onerror> and a <script> as text", () => {
    const evil = 'Look: <img src=x onerror=alert(1)> and <script>alert("xss")</script> done';
    const { container } = render(<Markdown text={evil} />);
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("script")).toBeNull();
    expect(container).toHaveTextContent('<img src=x onerror=alert(1)>');
    expect(container).toHaveTextContent('<script>alert("xss")</script>');
  });

  it("keeps block-level HTML as text too", () => {
    const evil = '<div onclick="alert(1)">\n<iframe src="https://evil.test"></iframe>\n</div>\n\n<svg onload=alert(1)>';
    const { container } = render(<Markdown text={evil} />);
    for (const tag of ["div[onclick]", "iframe", "svg", "script"]) expect(container.querySelector(tag)).toBeNull();
    expect(container).toHaveTextContent('<iframe src="https://evil.test"></iframe>');
    expect(container).toHaveTextContent("<svg onload=alert(1)>");
  });

  it("shows a javascript: link as plain words and turns markdown images into plain links", () => {
    const { container } = render(
      <Markdown text={"[click](javascript:alert(1)) ![pixel](https://tracker.test/p.gif)"} />,
    );
    const links = Array.from(container.querySelectorAll("a"));
    expect(links.every((a) => !(a.getAttribute("href") ?? "").startsWith("javascript:"))).toBe(true);
    // No empty link is left behind: the words stay, as text.
    expect(links.every((a) => a.getAttribute("href"))).toBe(true);
    expect(screen.getByText("click").tagName).toBe("SPAN");
    expect(container.querySelector("img")).toBeNull();
    expect(screen.getByText("[image: pixel]")).toHaveAttribute("href", "https://tracker.test/p.gif");
  });

  it("still renders ordinary markdown: lists, code with a copy button, tables", () => {
    const md = "# Title\n\n- one\n- two\n\n```python\nprint('hi')\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |";
    const { container } = render(<Markdown text={md} />);
    expect(screen.getByRole("heading", { name: "Title" })).toBeInTheDocument();
    expect(container.querySelectorAll("li")).toHaveLength(2);
    expect(container.querySelector("pre code")).toHaveTextContent("print('hi')");
    expect(screen.getByRole("button", { name: "Copy code" })).toBeInTheDocument();
    expect(container.querySelector("table")).not.toBeNull();
    expect(container.querySelector("a[target=_blank]")).toBeNull();
  });

  it("shows a user's own message as plain text, never as markup", () => {
    const { container } = render(
      <Message message={{ id: "u", role: "user", content: "<b>bold?</b> **no**", status: "complete" }} />,
    );
    expect(container.querySelector("b, strong")).toBeNull();
    expect(container).toHaveTextContent("<b>bold?</b> **no**");
  });
});

describe("code and math, loaded on demand", () => {
  it("loads the highlighter only for texts with code or math", () => {
    expect(needsRich("plain words, $5 and $10")).toBe(false);
    expect(needsRich("```js\nx\n```")).toBe(true);
    expect(needsRich("the area is \\(\\pi r^2\\)")).toBe(true);
  });

  it("turns \\( \\) and \\[ \\] into math outside code", () => {
    expect(normalizeMath("so \\(a+b\\) then")).toBe("so $$a+b$$ then");
    expect(normalizeMath("\\[x^2\\]")).toBe("\n$$\nx^2\n$$\n");
    expect(normalizeMath("`\\(kept\\)`")).toBe("`\\(kept\\)`");
  });

  it("highlights labelled code and renders math with KaTeX", async () => {
    await loadRich();
    const md = "```python\ndef add(a, b):\n    return a + b\n```\n\nEnergy: $$E = mc^2$$ and \\(\\frac{1}{2}\\)";
    const { container } = render(<Markdown text={md} />);
    await waitFor(() => expect(container.querySelector(".hljs-keyword")).not.toBeNull());
    expect(container.querySelector(".hljs-keyword")).toHaveTextContent("def");
    expect(container.querySelector(".code-lang")).toHaveTextContent("python");
    expect(container.querySelectorAll(".katex").length).toBe(2);
    // Still copyable as plain text.
    expect(screen.getByRole("button", { name: "Copy code" })).toBeInTheDocument();
  });

  it("keeps single dollars as text", async () => {
    await loadRich();
    const { container } = render(<Markdown text={"It costs $5 and $10 ```"} />);
    await waitFor(() => expect(container).toHaveTextContent("It costs $5 and $10"));
    expect(container.querySelector(".katex")).toBeNull();
  });

  it("typesets through the DOM, never by parsing HTML (style attributes break a strict CSP)", () => {
    const parse = vi.spyOn(Element.prototype, "innerHTML", "set");
    const nodes = typeset("\\frac{1}{2}", false);
    expect(parse).not.toHaveBeenCalled();
    expect(JSON.stringify(nodes)).toContain("mfrac");
  });
});
