/**
 * Small helpers of the compose commands: the Message-ID of the phone's MIME
 * and digests for the dedup keys. Header edits and the envelope come from
 * src/mime (headerEnvelope, prependHeaderFields).
 */
import type { HeaderMap } from "../../mime/mod.ts";
import { readHeaderBlock } from "../../mime/headers.ts";

/** The top-level headers of a message (cheap: only the header block is read, not the parts). */
export function topHeaders(message: Uint8Array): HeaderMap {
  return readHeaderBlock(message, 0, message.length).headers;
}

/** The Message-ID of a header block with its angle brackets, or undefined. */
export function messageIdOf(headers: HeaderMap): string | undefined {
  return /<[^<>\s]+>/.exec(headers.get("Message-ID") ?? "")?.[0];
}

/** SHA-256 of some bytes or a string, as lowercase hex. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}
