/**
 * On-demand body decoding: transfer encoding to bytes, charset to text.
 *
 * @module
 */

import { decodeCharset } from "./charset.ts";
import { type MimePart, rawBody } from "./parse.ts";
import { decodeBase64, decodeQuotedPrintable } from "./transfer_encoding.ts";

/**
 * The part's body with its Content-Transfer-Encoding undone: base64 and quoted-printable are
 * decoded; 7bit, 8bit, binary and unknown encodings return the raw bytes (a view, no copy).
 */
export function decodeBody(part: MimePart): Uint8Array {
  const raw = rawBody(part);
  switch (part.transferEncoding) {
    case "base64":
      return decodeBase64(raw);
    case "quoted-printable":
      return decodeQuotedPrintable(raw);
    default:
      return raw;
  }
}

/**
 * The part's body as text in the charset its Content-Type names (for HTML without one, the
 * charset its `<meta>` names). Unknown or missing charsets fall back to UTF-8 when the bytes
 * are valid UTF-8 and Windows-1252 otherwise; never throws.
 */
export function decodeText(part: MimePart): string {
  const bytes = decodeBody(part);
  const declared = part.contentType.params["charset"];
  if (declared || part.contentType.subtype !== "html") return decodeCharset(bytes, declared);
  return decodeCharset(bytes, metaCharset(bytes));
}

/** The charset an HTML body names in a `<meta>` element near its start (HTML's prescan looks at 1024 bytes). */
function metaCharset(bytes: Uint8Array): string | undefined {
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, 1024));
  return /<meta\b[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head)?.[1];
}

/**
 * Estimated decoded size without decoding: base64 is 3 bytes per 4 alphabet characters, other
 * encodings are counted as they are (quoted-printable text is mostly literal).
 */
export function estimateDecodedSize(part: MimePart): number {
  const raw = rawBody(part);
  if (part.transferEncoding !== "base64") return raw.length;
  let characters = 0;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i]!;
    if (byte === 0x3d) break;
    if (byte > 0x20) characters++;
  }
  return Math.floor(characters * 3 / 4);
}
