/** A button that opens the file picker (a hidden file input) and hands over what was chosen;
 * the input is emptied each time, so choosing the same file again is seen again. */
import { useRef, type ReactNode } from "react";

export function FileButton({
  label,
  title,
  accept,
  multiple = false,
  disabled = false,
  className = "icon-button",
  testId,
  onFiles,
  children,
}: {
  /** The button's accessible name. */
  label: string;
  title: string;
  accept: string;
  multiple?: boolean;
  disabled?: boolean;
  className?: string;
  /** The hidden input's data-testid. */
  testId?: string;
  onFiles: (files: File[]) => void;
  children: ReactNode;
}) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button
        type="button"
        className={className}
        aria-label={label}
        title={title}
        disabled={disabled}
        onClick={() => input.current?.click()}
      >
        {children}
      </button>
      <input
        ref={input}
        type="file"
        accept={accept}
        multiple={multiple}
        hidden
        data-testid={testId}
        onChange={(e) => {
          const files = Array.from(e.target.files ?? []);
          e.target.value = "";
          onFiles(files);
        }}
      />
    </>
  );
}
