import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Markdown } from "../components/Markdown";
import { Message } from "../components/Message";

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

  it("drops javascript: links and turns markdown images into plain links", () => {
    const { container } = render(
      <Markdown text={"[click](javascript:alert(1)) ![pixel](https://tracker.test/p.gif)"} />,
    );
    const links = Array.from(container.querySelectorAll("a"));
    expect(links.every((a) => !(a.getAttribute("href") ?? "").startsWith("javascript:"))).toBe(true);
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
