import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { Composer } from "./Composer";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pasteImage(target: HTMLElement, name = "shot.png") {
  const file = new File([PNG], name, { type: "image/png" });
  fireEvent.paste(target, { clipboardData: { items: [{ kind: "file", type: "image/png", getAsFile: () => file }] } });
}

describe("the message box with images", () => {
  it("sends pasted images with the text as data URLs, and can remove one first", async () => {
    const onSend = vi.fn().mockResolvedValue(true);
    render(<Composer onSend={onSend} onStop={() => {}} busy={false} stopping={false} vision model="gemma-3-4b-it" />);
    const box = screen.getByLabelText("Message");
    pasteImage(box, "a.png");
    pasteImage(box, "b.png");
    await waitFor(() => expect(screen.getAllByRole("img")).toHaveLength(2));
    fireEvent.click(screen.getByRole("button", { name: "Remove a.png" }));
    expect(screen.getAllByRole("img")).toHaveLength(1);
    fireEvent.change(box, { target: { value: "What is this?" } });
    fireEvent.click(screen.getByRole("button", { name: "Send message" }));
    expect(onSend).toHaveBeenCalledWith("What is this?", ["data:image/png;base64,iVBORw0KGgo="]);
    expect(screen.queryAllByRole("img")).toHaveLength(0);
  });

  it("says a text-only model cannot read images and attaches none", async () => {
    const onSend = vi.fn().mockResolvedValue(true);
    render(<Composer onSend={onSend} onStop={() => {}} busy={false} stopping={false} vision={false} model="qwen" />);
    expect(screen.getByRole("button", { name: "Attach images" })).toBeDisabled();
    pasteImage(screen.getByLabelText("Message"));
    expect(await screen.findByTestId("composer-hint")).toHaveTextContent("qwen cannot read images");
    expect(screen.queryAllByRole("img")).toHaveLength(0);
  });

  it("puts images back when the gateway refused the message", async () => {
    const onSend = vi.fn().mockResolvedValue(false);
    render(<Composer onSend={onSend} onStop={() => {}} busy={false} stopping={false} vision model="gemma" />);
    pasteImage(screen.getByLabelText("Message"));
    await waitFor(() => expect(screen.getAllByRole("img")).toHaveLength(1));
    fireEvent.click(screen.getByRole("button", { name: "Send message" }));
    await waitFor(() => expect(screen.getAllByRole("img")).toHaveLength(1));
    expect(onSend).toHaveBeenCalledWith("", ["data:image/png;base64,iVBORw0KGgo="]);
  });
});
