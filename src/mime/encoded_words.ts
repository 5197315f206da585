/**
 * RFC 2047 encoded words in headers: decoding (B and Q, any charset TextDecoder knows) and
 * encoding of non-ASCII text for headers we write.
 *
 * @module
 */

import { concatBytes } from "./_bytes.ts";
import { decodeCharset } from "./charset.ts";
import { MIME_LIMITS } from "./limits.ts";
import { decodeBase64, decodeQuotedPrintable, encodeBase64 } from "./transfer_encoding.ts";

/** `=?charset?B|Q?text?=`; the text may not contain `?` (RFC 2047 section 2). */
const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=/g;

const encoder = new TextEncoder();

function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

function wordBytes(encoding: string, text: string): Uint8Array {
  const raw = latin1Bytes(text);
  return encoding === "b" || encoding === "B" ? decodeBase64(raw) : decodeQuotedPrintable(raw, true);
}

/**
 * Decodes a header value for display: unfolds it (RFC 5322 section 2.2.3) and decodes RFC 2047
 * encoded words. Whitespace between adjacent encoded words is dropped (RFC 2047 section 6.2);
 * adjacent words in the same charset are joined before decoding, so a multi-byte character
 * split across two words (as some mailers do) survives. Words embedded in text without
 * surrounding spaces, as legacy clients write them, are decoded too. Never throws.
 */
export function decodeHeaderValue(raw: string): string {
  const value = raw.replace(/\r?\n(?=[ \t])/g, "").replace(/[\r\n]/g, "");
  if (!value.includes("=?")) return value;
  let out = "";
  let last = 0;
  let pending: { charset: string; chunks: Uint8Array[] } | null = null;
  const flush = () => {
    if (pending) out += decodeCharset(concatBytes(pending.chunks), pending.charset);
    pending = null;
  };
  for (const match of value.matchAll(ENCODED_WORD)) {
    const between = value.slice(last, match.index);
    const charset = match[1]!.toLowerCase();
    const bytes = wordBytes(match[2]!, match[3]!);
    if (pending && /^[ \t]*$/.test(between)) {
      const open: { charset: string; chunks: Uint8Array[] } = pending;
      if (open.charset === charset) open.chunks.push(bytes);
      else {
        flush();
        pending = { charset, chunks: [bytes] };
      }
    } else {
      flush();
      out += between;
      pending = { charset, chunks: [bytes] };
    }
    last = match.index + match[0].length;
  }
  flush();
  return out + value.slice(last);
}

/** True if the text can go into a header as it is: printable ASCII and blanks only. */
export function isPlainHeaderText(text: string): boolean {
  return /^[\x20-\x7e\t]*$/.test(text) && !text.includes("=?");
}

/**
 * Splits text into UTF-8 B encoded words of at most 75 characters (RFC 2047 section 2), never
 * splitting a character; returns them joined with `separator` (a folding "\r\n " by default).
 */
export function encodeWords(text: string, separator = "\r\n "): string {
  // 75 - "=?UTF-8?B?".length - "?=".length = 63 base64 characters = 47 bytes; use 45 (multiple of 3).
  const maxBytes = 45;
  const words: string[] = [];
  let chunk = "";
  let chunkBytes = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (chunkBytes + size > maxBytes && chunk) {
      words.push(chunk);
      chunk = "";
      chunkBytes = 0;
    }
    chunk += char;
    chunkBytes += size;
  }
  if (chunk || words.length === 0) words.push(chunk);
  return words.map((word) => `=?UTF-8?B?${encodeBase64(encoder.encode(word))}?=`).join(separator);
}

/**
 * Encodes an unstructured header value (Subject, Thread-Topic): ASCII text stays readable,
 * anything else becomes UTF-8 encoded words.
 */
export function encodeHeaderValue(text: string): string {
  const clean = text.replace(/[\r\n]+/g, " ");
  return isPlainHeaderText(clean) ? clean : encodeWords(clean);
}

/**
 * Folds a header line `Name: value` at blanks so lines stay near 78 characters (RFC 5322
 * section 2.2.3); words longer than a line are left whole. Returns the line without CRLF.
 */
export function foldHeader(name: string, value: string): string {
  const limit = MIME_LIMITS.headerLineLength;
  // Existing folds (CRLF or a bare LF before a blank) are undone first; other line breaks cannot stay in a header.
  const parts = value.replace(/\r?\n(?=[ \t])/g, "").replace(/[\r\n]+/g, " ").split(/(?<=\S)(?=[ \t])/);
  let out = `${name}:`;
  let lineLength = out.length;
  let first = true;
  for (const part of parts) {
    const token = first && !/^[ \t]/.test(part) ? ` ${part}` : part;
    first = false;
    // Fold only before a blank followed by text: a folded line of blanks alone is not allowed (RFC 5322 3.2.2).
    if (lineLength + token.length > limit && lineLength > name.length + 1 && /^[ \t]+\S/.test(token)) {
      out += "\r\n" + token;
      lineLength = token.length;
    } else {
      out += token;
      lineLength += token.length;
    }
  }
  return out;
}
