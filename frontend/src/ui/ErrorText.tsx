/** An error as a sentence, with the server's own words under "Details" (closed). */
import { describeError } from "../api/errors";
import type { ErrorBody } from "../api/types";

export function ErrorText({
  error,
  className = "inline-error",
  prefix,
}: {
  error: Pick<ErrorBody, "code" | "message">;
  className?: string;
  /** Leading words such as "Could not open the conversation:". */
  prefix?: string;
}) {
  const { sentence, detail } = describeError(error);
  return (
    <div className={className} role="alert">
      <span>
        {prefix ? `${prefix} ` : ""}
        {sentence}
      </span>
      {detail && (
        <details>
          <summary>Details</summary>
          <code>{detail}</code>
        </details>
      )}
    </div>
  );
}

/** A message already in words (a form's refusal, a failed action), when there is one. */
export function InlineError({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return (
    <p className="inline-error" role="alert">
      {message}
    </p>
  );
}
