/**
 * Images attached to a message, as data URLs (the gateway takes nothing else from a browser).
 *
 * A large photo is scaled down in a canvas first (longest side 1536 px, JPEG): the request
 * body must stay under the gateway's limit (1 MiB by default), and vision models scale
 * images to about that size anyway. Small PNG, JPEG, WebP and GIF files are sent as they are.
 */
export const MAX_IMAGES = 4;
const MAX_SIDE = 1536;
const KEEP_BYTES = 256 * 1024;
const KEEP_TYPES = new Set(["image/png", "image/jpeg", "image/webp", "image/gif"]);

export interface Attachment {
  name: string;
  url: string;
}

function readAsDataUrl(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error("could not read the file"));
    reader.readAsDataURL(file);
  });
}

async function scaled(file: File): Promise<string | null> {
  if (typeof createImageBitmap !== "function") return null;
  const bitmap = await createImageBitmap(file);
  try {
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const context = canvas.getContext("2d");
    if (!context) return null;
    context.fillStyle = "#fff"; // transparent areas become white, not black, in a JPEG
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL("image/jpeg", 0.85);
  } finally {
    bitmap.close();
  }
}

/** One image file as a data URL small enough to send; an error for anything else. */
export async function toAttachment(file: File): Promise<Attachment> {
  if (!file.type.startsWith("image/")) throw new Error(`${file.name || "That file"} is not an image.`);
  const keep = KEEP_TYPES.has(file.type) && file.size <= KEEP_BYTES;
  const url = (keep ? null : await scaled(file).catch(() => null)) ?? (await readAsDataUrl(file));
  return { name: file.name || "pasted image", url };
}

/** The image files among dropped or pasted items. */
export function imageFiles(list: FileList | DataTransferItemList | File[] | null | undefined): File[] {
  if (!list) return [];
  const files: File[] = [];
  for (const item of Array.from(list as ArrayLike<File | DataTransferItem>)) {
    const file = item instanceof File ? item : item.kind === "file" ? item.getAsFile() : null;
    if (file && file.type.startsWith("image/")) files.push(file);
  }
  return files;
}
