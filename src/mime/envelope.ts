/**
 * Top-level header edits at the byte level (the body passes through untouched, so S/MIME
 * signatures stay valid) and the SMTP envelope of a message.
 *
 * @module
 */

import { concatBytes } from "./_bytes.ts";
import { parseAddressList } from "./address.ts";
import { readHeaderBlock } from "./headers.ts";

const encoder = new TextEncoder();

/** One header field's byte range in a message, and its lowercased name ("" for a non-field line). */
interface FieldRange {
  name: string;
  start: number;
  end: number;
}

/** The top-level header fields with byte ranges (including their line ends), and where they end. */
function headerFields(message: Uint8Array): { fields: FieldRange[]; end: number } {
  const fields: FieldRange[] = [];
  let pos = 0;
  while (pos < message.length) {
    let next = message.indexOf(0x0a, pos);
    next = next < 0 ? message.length : next + 1;
    const first = message[pos];
    if (first === 0x0a || (first === 0x0d && message[pos + 1] === 0x0a)) break;
    const last = fields[fields.length - 1];
    if ((first === 0x20 || first === 0x09) && last) last.end = next;
    else {
      let name = "";
      for (let i = pos; i < next; i++) {
        const byte = message[i]!;
        if (byte === 0x3a) break;
        if (byte <= 0x20 || byte >= 0x7f) {
          name = "";
          break;
        }
        name += String.fromCharCode(byte);
      }
      fields.push({ name: name.toLowerCase(), start: pos, end: next });
    }
    pos = next;
  }
  return { fields, end: pos };
}

/** The message without any top-level field called one of `names` (with continuation lines). */
export function removeHeaderFields(message: Uint8Array, names: readonly string[]): Uint8Array {
  const drop = new Set(names.map((name) => name.toLowerCase()));
  const { fields, end } = headerFields(message);
  if (!fields.some((field) => drop.has(field.name))) return message;
  const kept = fields.filter((field) => !drop.has(field.name)).map((field) =>
    message.subarray(field.start, field.end)
  );
  return concatBytes([...kept, message.subarray(end)]);
}

/** The message with header lines (already encoded and folded, without line ends) put in front. */
export function prependHeaderFields(message: Uint8Array, lines: readonly string[]): Uint8Array {
  if (lines.length === 0) return message;
  return concatBytes([encoder.encode(lines.map((line) => `${line}\r\n`).join("")), message]);
}

/** The SMTP envelope of a message and the bytes to transmit. */
export interface HeaderEnvelope {
  /** From's first address, or Sender's when From has none; "" when neither has one. */
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  /** To, Cc and Bcc addresses with an "@", deduplicated case-insensitively, in header order. */
  recipients: string[];
  /** The message without Bcc fields (RFC 5322 section 3.6.3: blind recipients stay unseen). */
  message: Uint8Array;
}

/**
 * Reads the envelope for SMTP submission from a message's top-level headers: MAIL FROM from
 * From (or Sender), RCPT TO from To, Cc and Bcc; and removes Bcc from the transmitted copy.
 */
export function headerEnvelope(message: Uint8Array): HeaderEnvelope {
  const { headers } = readHeaderBlock(message, 0, message.length);
  const addresses = (name: string) =>
    headers.getAll(name).flatMap((value) => parseAddressList(value)).map((entry) => entry.address)
      .filter((address) => address.includes("@"));
  const to = addresses("to");
  const cc = addresses("cc");
  const bcc = addresses("bcc");
  const seen = new Set<string>();
  const recipients = [...to, ...cc, ...bcc].filter((address) => {
    const key = address.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return {
    from: addresses("from")[0] ?? addresses("sender")[0] ?? "",
    to,
    cc,
    bcc,
    recipients,
    message: removeHeaderFields(message, ["bcc"]),
  };
}
