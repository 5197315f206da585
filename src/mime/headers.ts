/**
 * Header blocks (RFC 5322 section 2.2) and parameterized values such as Content-Type and
 * Content-Disposition (RFC 2045 section 5.1, RFC 2183, RFC 2231).
 *
 * @module
 */

import { concatBytes } from "./_bytes.ts";
import { decodeCharset, decodeGuess, isAscii } from "./charset.ts";
import { decodeHeaderValue } from "./encoded_words.ts";

/** One header field as it appeared: the name as written and the raw (folded) value. */
export interface HeaderField {
  name: string;
  value: string;
}

/** Case-insensitive multi-map of header fields, in message order. */
export class HeaderMap {
  readonly #byName = new Map<string, string[]>();

  constructor(readonly fields: readonly HeaderField[] = []) {
    for (const field of fields) {
      const key = field.name.toLowerCase();
      const list = this.#byName.get(key);
      if (list) list.push(field.value);
      else this.#byName.set(key, [field.value]);
    }
  }

  /** The first value of the field, raw (still folded and encoded), or undefined. */
  get(name: string): string | undefined {
    return this.#byName.get(name.toLowerCase())?.[0];
  }

  /** Every value of the field in message order (Received, Comments, ...). */
  getAll(name: string): string[] {
    return this.#byName.get(name.toLowerCase()) ?? [];
  }

  /** True if the field appears at least once. */
  has(name: string): boolean {
    return this.#byName.has(name.toLowerCase());
  }

  /** The first value unfolded with RFC 2047 words decoded, for display; "" when absent. */
  text(name: string): string {
    const value = this.get(name);
    return value === undefined ? "" : decodeHeaderValue(value).trim();
  }
}

/** Decodes a header field's bytes: 8-bit headers (RFC 6532) are UTF-8, or legacy Windows-1252. */
function headerString(bytes: Uint8Array): string {
  if (isAscii(bytes)) {
    let out = "";
    for (let i = 0; i < bytes.length; i += 8192) {
      out += String.fromCharCode(...bytes.subarray(i, Math.min(i + 8192, bytes.length)));
    }
    return out;
  }
  return decodeGuess(bytes);
}

/** True if the line starts like `Name:` with a printable field name (RFC 5322 section 2.2). */
function looksLikeField(source: Uint8Array, pos: number, end: number): boolean {
  for (let i = pos; i < end; i++) {
    const byte = source[i]!;
    if (byte === 0x3a) return i > pos;
    if (byte <= 0x20 || byte >= 0x7f) return false;
  }
  return false;
}

function isMboxFrom(source: Uint8Array, pos: number): boolean {
  return source[pos] === 0x46 && source[pos + 1] === 0x72 && source[pos + 2] === 0x6f &&
    source[pos + 3] === 0x6d && source[pos + 4] === 0x20;
}

/** Result of reading a header block: the fields and where the body starts. */
export interface HeaderBlock {
  headers: HeaderMap;
  bodyStart: number;
}

/**
 * Reads the header block of `source` from `start` to `end`: fields up to the first empty line;
 * continuation lines (starting with a blank) are joined to their field. Bare LF line ends
 * are accepted; a line without a colon (an mbox "From " line, garbage) is skipped. If no
 * empty line comes, everything is header and the body is empty.
 */
export function readHeaderBlock(source: Uint8Array, start: number, end: number): HeaderBlock {
  const fields: HeaderField[] = [];
  let pos = start;
  let fieldStart = -1;
  let fieldEnd = -1;
  const finish = () => {
    if (fieldStart < 0) return;
    const text = headerString(source.subarray(fieldStart, fieldEnd));
    const colon = text.indexOf(":");
    const name = text.slice(0, colon).trim();
    if (colon > 0 && /^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
      fields.push({ name, value: text.slice(colon + 1).replace(/^[ \t]+/, "") });
    }
    fieldStart = -1;
  };
  while (pos < end) {
    let lineEnd = source.indexOf(0x0a, pos);
    if (lineEnd < 0 || lineEnd >= end) lineEnd = end;
    const next = lineEnd < end ? lineEnd + 1 : end;
    const contentEnd = lineEnd > pos && source[lineEnd - 1] === 0x0d ? lineEnd - 1 : lineEnd;
    if (contentEnd === pos) {
      finish();
      return { headers: new HeaderMap(fields), bodyStart: next };
    }
    const first = source[pos];
    if (pos === start && !looksLikeField(source, pos, contentEnd)) {
      // A part that starts with text has no headers (broken mailers omit the empty line);
      // an mbox "From " envelope line before the headers is skipped instead.
      if (!isMboxFrom(source, pos)) return { headers: new HeaderMap(), bodyStart: start };
      pos = next;
      continue;
    }
    if ((first === 0x20 || first === 0x09) && fieldStart >= 0) {
      fieldEnd = contentEnd;
    } else {
      finish();
      fieldStart = pos;
      fieldEnd = contentEnd;
    }
    pos = next;
  }
  finish();
  return { headers: new HeaderMap(fields), bodyStart: end };
}

/** A value like `text/plain; charset=utf-8`: the part before the first `;` and its parameters. */
export interface ParameterizedValue {
  value: string;
  /** Parameter names lowercased; values with RFC 2231 and RFC 2047 encodings decoded. */
  params: Record<string, string>;
}

/** Removes RFC 5322 comments `( ... )` outside quoted strings (nested, with escapes). */
function stripComments(text: string): string {
  let out = "";
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === "\\" && (quoted || depth > 0)) {
      if (depth === 0) out += char + (text[i + 1] ?? "");
      i++;
    } else if (quoted) {
      out += char;
      if (char === '"') quoted = false;
    } else if (char === "(") depth++;
    else if (char === ")" && depth > 0) depth--;
    else if (depth === 0) {
      if (char === '"') quoted = true;
      out += char;
    }
  }
  return out;
}

function splitParameters(text: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted && char === "\\") {
      current += char + (text[i + 1] ?? "");
      i++;
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (char === ";" && !quoted) {
      parts.push(current);
      current = "";
    } else current += char;
  }
  parts.push(current);
  return parts;
}

function unquote(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"')) {
    const body = trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed.slice(1);
    return body.replace(/\\(.)/g, "$1");
  }
  return trimmed;
}

function percentBytes(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x25 && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (code < 0x80) out.push(code);
    else out.push(...new TextEncoder().encode(text[i]!));
  }
  return Uint8Array.from(out);
}

interface Segment {
  index: number;
  encoded: boolean;
  value: string;
}

/**
 * Parses `value; name=token; name="quoted"; name*=charset'lang'%XX; name*0*=...; name*1=...`.
 * RFC 2231 continuations are joined in index order and decoded in the charset of the first
 * segment; plain values holding RFC 2047 words (Outlook and old webmailers put them in quoted
 * filenames) are decoded too. Malformed pieces are skipped, never thrown on.
 */
export function parseParameterized(raw: string): ParameterizedValue {
  const [head = "", ...rest] = splitParameters(stripComments(raw.replace(/\r?\n(?=[ \t])/g, "")));
  const plain = new Map<string, string>();
  const extended = new Map<string, Segment[]>();
  for (const piece of rest) {
    const eq = piece.indexOf("=");
    if (eq <= 0) continue;
    const key = piece.slice(0, eq).trim().toLowerCase();
    const value = piece.slice(eq + 1);
    const match = /^([^*\s]+)\*(?:(\d{1,3})(\*)?)?$/.exec(key);
    if (!match) {
      if (!plain.has(key)) plain.set(key, unquote(value));
      continue;
    }
    const name = match[1]!;
    const list = extended.get(name) ?? [];
    list.push({
      index: match[2] === undefined ? 0 : Number(match[2]),
      // "name*" and "name*N*" are percent-encoded; "name*N" is a plain continuation.
      encoded: match[2] === undefined || match[3] === "*",
      value: unquote(value),
    });
    extended.set(name, list);
  }
  // Null prototype: parameter names come from the message ("__proto__" must stay a plain key).
  const params: Record<string, string> = Object.create(null);
  for (const [name, value] of plain) params[name] = value.includes("=?") ? decodeHeaderValue(value) : value;
  for (const [name, segments] of extended) {
    segments.sort((a, b) => a.index - b.index);
    let charset = "";
    const chunks: Uint8Array[] = [];
    segments.forEach((segment, position) => {
      let text = segment.value;
      if (position === 0 && segment.encoded) {
        const parts = /^([^']*)'[^']*'(.*)$/s.exec(text);
        if (parts) {
          charset = parts[1]!;
          text = parts[2]!;
        }
      }
      chunks.push(segment.encoded ? percentBytes(text) : new TextEncoder().encode(text));
    });
    params[name] = decodeCharset(concatBytes(chunks), charset);
  }
  return { value: head.trim().toLowerCase(), params };
}
