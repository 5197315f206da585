/**
 * IMAP response parser (RFC 3501 section 9 grammar, with literal8 from RFC 3516
 * and the response forms of RFC 4731 ESEARCH, RFC 7162 CONDSTORE/QRESYNC,
 * RFC 5465 NOTIFY). Pure: bytes in, values out, no I/O.
 *
 * Two stages:
 * - {@link ResponseAssembler} cuts a byte stream (split anywhere by TCP) into
 *   complete response lines; a literal `{n}` is read as n raw bytes, or handed
 *   out in pieces when the caller asks to stream it (big attachments).
 * - {@link parseResponse} turns one complete line into a typed response whose
 *   data are {@link ImapValue}s.
 *
 * @module
 */

import { IMAP_LIMITS } from "./_imap_limits.ts";

export { decodeMailboxName, encodeMailboxName } from "./_imap_utf7.ts";

/** A malformed server response; `offset` is the byte offset in the line text. */
export class ImapSyntaxError extends SyntaxError {
  constructor(message: string, readonly offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = "ImapSyntaxError";
  }
}

/** Stands for a literal whose bytes were streamed to the caller instead of kept in the line. */
export interface StreamedLiteral {
  readonly streamed: true;
  readonly size: number;
}

/**
 * One parsed datum: atoms and quoted strings are strings, literals are bytes
 * (never decoded here), NIL is null, parenthesized lists are arrays.
 */
export type ImapValue = string | Uint8Array | null | StreamedLiteral | ImapValue[];

/** A complete response line: the text (literal bodies cut out, `{n}` markers kept) and its literals in order. */
export interface RawLine {
  readonly text: Uint8Array;
  readonly literals: readonly (Uint8Array | StreamedLiteral)[];
}

/** What {@link ResponseAssembler.push} produces, in stream order. */
export type AssemblerEvent =
  | { readonly kind: "line"; readonly line: RawLine }
  | { readonly kind: "literal-start"; readonly size: number }
  | { readonly kind: "literal-data"; readonly data: Uint8Array }
  | { readonly kind: "literal-end" };

/** Options of {@link ResponseAssembler}. */
export interface AssemblerOptions {
  /** Asked at each literal header with the line so far (ending in `{n}`); true streams the literal as events. */
  shouldStream?: (prefix: Uint8Array, size: number) => boolean;
  maxLineBytes?: number;
  maxLiteralBytes?: number;
}

const CR = 0x0d;
const LF = 0x0a;

/** A growable byte buffer. */
class ByteBuffer {
  #bytes = new Uint8Array(256);
  length = 0;
  append(chunk: Uint8Array): void {
    if (this.length + chunk.length > this.#bytes.length) {
      let size = this.#bytes.length * 2;
      while (size < this.length + chunk.length) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#bytes.subarray(0, this.length));
      this.#bytes = next;
    }
    this.#bytes.set(chunk, this.length);
    this.length += chunk.length;
  }
  view(): Uint8Array {
    return this.#bytes.subarray(0, this.length);
  }
  take(): Uint8Array {
    const out = this.#bytes.slice(0, this.length);
    this.length = 0;
    if (this.#bytes.length > 64 * 1024) this.#bytes = new Uint8Array(256);
    return out;
  }
}

/** Reads the size of a trailing `{n}` / `{n+}` / `~{n}` literal header of a line ending in CRLF, or -1. */
export function trailingLiteralSize(line: Uint8Array): number {
  let i = line.length - 1;
  if (i < 3 || line[i] !== LF || line[i - 1] !== CR || line[i - 2] !== 0x7d /* } */) return -1;
  i -= 3;
  if (line[i] === 0x2b /* + */) i--;
  let size = 0;
  let digits = 0;
  let scale = 1;
  while (i >= 0 && line[i]! >= 0x30 && line[i]! <= 0x39) {
    size += (line[i]! - 0x30) * scale;
    scale *= 10;
    digits++;
    i--;
  }
  if (digits === 0 || digits > 15 || i < 0 || line[i] !== 0x7b /* { */) return -1;
  return size;
}

/**
 * Cuts an IMAP byte stream into complete response lines, reading literals
 * (`{n}` CRLF and n bytes) that may be split across any number of reads.
 */
export class ResponseAssembler {
  readonly #line = new ByteBuffer();
  #literals: (Uint8Array | StreamedLiteral)[] = [];
  #literal: Uint8Array | null = null;
  #literalFilled = 0;
  #streamLeft = -1;
  readonly #options: AssemblerOptions;
  readonly #maxLine: number;
  readonly #maxLiteral: number;

  constructor(options: AssemblerOptions = {}) {
    this.#options = options;
    this.#maxLine = options.maxLineBytes ?? IMAP_LIMITS.maxLineBytes;
    this.#maxLiteral = options.maxLiteralBytes ?? IMAP_LIMITS.maxLiteralBytes;
  }

  /** True when bytes of an unfinished response are held (STARTTLS must not leave any). */
  get hasPartial(): boolean {
    return this.#line.length > 0 || this.#literal !== null || this.#streamLeft >= 0;
  }

  /** Feeds bytes; returns the events they complete. Data events reference copies, never `chunk` itself. */
  push(chunk: Uint8Array): AssemblerEvent[] {
    const events: AssemblerEvent[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#streamLeft >= 0) {
        const n = Math.min(this.#streamLeft, chunk.length - pos);
        if (n > 0) events.push({ kind: "literal-data", data: chunk.slice(pos, pos + n) });
        pos += n;
        this.#streamLeft -= n;
        if (this.#streamLeft === 0) {
          this.#streamLeft = -1;
          events.push({ kind: "literal-end" });
        }
        continue;
      }
      if (this.#literal) {
        const n = Math.min(this.#literal.length - this.#literalFilled, chunk.length - pos);
        this.#literal.set(chunk.subarray(pos, pos + n), this.#literalFilled);
        this.#literalFilled += n;
        pos += n;
        if (this.#literalFilled === this.#literal.length) {
          this.#literals.push(this.#literal);
          this.#literal = null;
        }
        continue;
      }
      const lf = chunk.indexOf(LF, pos);
      const end = lf < 0 ? chunk.length : lf + 1;
      if (this.#line.length + (end - pos) > this.#maxLine) {
        throw new ImapSyntaxError(`Response line longer than ${this.#maxLine} bytes`, this.#line.length);
      }
      this.#line.append(chunk.subarray(pos, end));
      pos = end;
      if (lf < 0) break;
      this.#lineEnded(events);
    }
    return events;
  }

  #lineEnded(events: AssemblerEvent[]): void {
    const text = this.#line.view();
    const size = trailingLiteralSize(text);
    if (size < 0) {
      events.push({ kind: "line", line: { text: this.#line.take(), literals: this.#literals } });
      this.#literals = [];
      return;
    }
    if (this.#options.shouldStream?.(text, size)) {
      this.#literals.push({ streamed: true, size });
      events.push({ kind: "literal-start", size });
      if (size === 0) events.push({ kind: "literal-end" });
      else this.#streamLeft = size;
      return;
    }
    if (size > this.#maxLiteral) {
      throw new ImapSyntaxError(
        `Literal of ${size} bytes exceeds the limit of ${this.#maxLiteral}`,
        text.length,
      );
    }
    if (size === 0) this.#literals.push(new Uint8Array(0));
    else {
      this.#literal = new Uint8Array(size);
      this.#literalFilled = 0;
    }
  }
}

/** A status response: tagged completion, or untagged OK/NO/BAD/PREAUTH/BYE. */
export interface StatusResponse {
  readonly kind: "status";
  /** The command tag, or "*" when untagged. */
  readonly tag: string;
  readonly status: "OK" | "NO" | "BAD" | "PREAUTH" | "BYE";
  /** The bracketed response code (RFC 3501 section 7.1), name upper-cased. */
  readonly code: { readonly name: string; readonly args: ImapValue[] } | null;
  readonly text: string;
}

/** Untagged data such as `* 3 EXISTS`, `* 2 FETCH (...)`, `* LIST (...) "/" INBOX`. */
export interface DataResponse {
  readonly kind: "data";
  /** The leading number of message data (`* 3 EXISTS`), else null. */
  readonly number: number | null;
  /** Upper-cased response name: EXISTS, FETCH, LIST, STATUS, ESEARCH, VANISHED, ... */
  readonly name: string;
  readonly values: ImapValue[];
}

/** A command continuation request (`+ text`). */
export interface ContinuationResponse {
  readonly kind: "continuation";
  readonly text: string;
}

/** Any server response. */
export type ImapResponse = StatusResponse | DataResponse | ContinuationResponse;

const STATUS_NAMES = new Set(["OK", "NO", "BAD", "PREAUTH", "BYE"]);
const decoder = new TextDecoder();

/** Characters that end an atom (RFC 3501 atom-specials that can follow one). */
function endsAtom(byte: number, inCode: boolean): boolean {
  return byte === 0x20 || byte === 0x28 || byte === 0x29 || byte === CR || byte === LF ||
    (inCode && byte === 0x5d);
}

/** A cursor over one {@link RawLine}. */
export class LineReader {
  pos = 0;
  #literal = 0;
  constructor(readonly line: RawLine) {}

  get text(): Uint8Array {
    return this.line.text;
  }

  /** True at CRLF or the end of the text. */
  atEnd(): boolean {
    const b = this.text[this.pos];
    return b === undefined || b === CR || b === LF;
  }

  peek(): number | undefined {
    return this.text[this.pos];
  }

  skipSpaces(): void {
    while (this.text[this.pos] === 0x20) this.pos++;
  }

  expect(byte: number): void {
    if (this.text[this.pos] !== byte) {
      throw new ImapSyntaxError(`Expected "${String.fromCharCode(byte)}"`, this.pos);
    }
    this.pos++;
  }

  /** Reads an atom; a "[" inside it runs to the matching "]" so `BODY[HEADER.FIELDS (TO)]<0>` is one atom. */
  readAtom(inCode = false): string {
    const start = this.pos;
    while (this.pos < this.text.length && !endsAtom(this.text[this.pos]!, inCode)) {
      if (this.text[this.pos] === 0x5b /* [ */ && this.pos > start) {
        const close = this.text.indexOf(0x5d, this.pos);
        if (close < 0) throw new ImapSyntaxError('Unterminated "[" in atom', this.pos);
        this.pos = close + 1;
        continue;
      }
      this.pos++;
    }
    if (this.pos === start) throw new ImapSyntaxError("Expected an atom", start);
    return decoder.decode(this.text.subarray(start, this.pos));
  }

  #readQuoted(): string {
    this.pos++;
    const bytes: number[] = [];
    for (;;) {
      const b = this.text[this.pos];
      if (b === undefined || b === CR || b === LF) {
        throw new ImapSyntaxError("Unterminated quoted string", this.pos);
      }
      this.pos++;
      if (b === 0x22) break;
      if (b === 0x5c /* \ */) {
        const next = this.text[this.pos];
        if (next === undefined) throw new ImapSyntaxError("Unterminated quoted string", this.pos);
        bytes.push(next);
        this.pos++;
      } else bytes.push(b);
    }
    return decoder.decode(new Uint8Array(bytes));
  }

  #readLiteral(): Uint8Array | StreamedLiteral {
    if (this.text[this.pos] === 0x7e) this.pos++;
    this.expect(0x7b);
    const close = this.text.indexOf(0x7d, this.pos);
    if (close < 0) throw new ImapSyntaxError("Unterminated literal header", this.pos);
    this.pos = close + 1;
    this.expect(CR);
    this.expect(LF);
    const literal = this.line.literals[this.#literal++];
    if (literal === undefined) throw new ImapSyntaxError("Literal body missing", this.pos);
    return literal;
  }

  /** Reads one value: list, quoted string, literal, NIL or atom. */
  readValue(inCode = false): ImapValue {
    const b = this.text[this.pos];
    if (b === 0x28) return this.readList(inCode);
    if (b === 0x22) return this.#readQuoted();
    if (b === 0x7b || (b === 0x7e && this.text[this.pos + 1] === 0x7b)) return this.#readLiteral();
    const atom = this.readAtom(inCode);
    return atom.toUpperCase() === "NIL" ? null : atom;
  }

  /** Reads a parenthesized list. */
  readList(inCode = false): ImapValue[] {
    this.expect(0x28);
    const items: ImapValue[] = [];
    for (;;) {
      this.skipSpaces();
      const b = this.text[this.pos];
      if (b === 0x29) {
        this.pos++;
        return items;
      }
      if (b === undefined || b === CR || b === LF) throw new ImapSyntaxError("Unterminated list", this.pos);
      items.push(this.readValue(inCode));
    }
  }

  /** Reads values up to the end of the line (or a "]" when inside a response code). */
  readValues(inCode = false): ImapValue[] {
    const values: ImapValue[] = [];
    for (;;) {
      this.skipSpaces();
      if (this.atEnd() || (inCode && this.peek() === 0x5d)) return values;
      values.push(this.readValue(inCode));
    }
  }

  /** The rest of the line as text, without CRLF. */
  rest(): string {
    let end = this.text.length;
    while (end > this.pos && (this.text[end - 1] === LF || this.text[end - 1] === CR)) end--;
    const out = decoder.decode(this.text.subarray(this.pos, end));
    this.pos = this.text.length;
    return out;
  }
}

function parseCode(reader: LineReader): StatusResponse["code"] {
  if (reader.peek() !== 0x5b) return null;
  const start = reader.pos;
  reader.pos++;
  const name = reader.readAtom(true).toUpperCase();
  try {
    const args = reader.readValues(true);
    reader.expect(0x5d);
    return { name, args };
  } catch (error) {
    // Free-text codes ([REFERRAL ...], vendor codes) need not be valid tokens: keep their text.
    if (!(error instanceof ImapSyntaxError)) throw error;
    const close = reader.text.indexOf(0x5d, start);
    if (close < 0) throw error;
    const after = decoder.decode(reader.text.subarray(start + 1 + name.length, close)).trim();
    reader.pos = close + 1;
    return { name, args: after === "" ? [] : [after] };
  }
}

/** Parses one complete response line (from {@link ResponseAssembler}). */
export function parseResponse(line: RawLine): ImapResponse {
  const reader = new LineReader(line);
  if (reader.peek() === 0x2b /* + */) {
    reader.pos++;
    if (reader.peek() === 0x20) reader.pos++;
    return { kind: "continuation", text: reader.rest() };
  }
  const tag = reader.readAtom();
  reader.expect(0x20);
  let number: number | null = null;
  let name = reader.readAtom().toUpperCase();
  if (tag === "*" && /^\d+$/.test(name)) {
    number = Number(name);
    reader.expect(0x20);
    name = reader.readAtom().toUpperCase();
  }
  if (number === null && STATUS_NAMES.has(name)) {
    reader.skipSpaces();
    const code = parseCode(reader);
    reader.skipSpaces();
    return { kind: "status", tag, status: name as StatusResponse["status"], code, text: reader.rest() };
  }
  if (tag !== "*") throw new ImapSyntaxError(`Unexpected tagged response "${name}"`, 0);
  const values = reader.readValues();
  return { kind: "data", number, name, values };
}

/** Parses a whole response given as text, with literals marked `{n}` and following inline (for tests and tools). */
export function parseResponseText(text: string | Uint8Array): ImapResponse {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  const events = new ResponseAssembler().push(bytes);
  const first = events[0];
  if (events.length !== 1 || first?.kind !== "line") {
    throw new ImapSyntaxError("Expected exactly one complete response", bytes.length);
  }
  return parseResponse(first.line);
}

/** Decodes a string-ish value (atom, quoted or literal) to a JS string; null stays null. */
export function valueText(value: ImapValue | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return decoder.decode(value);
  throw new ImapSyntaxError("Expected a string value", 0);
}

/** A value as a non-negative integer (number-valued items like RFC822.SIZE or UID). */
export function valueNumber(value: ImapValue | undefined): number {
  const text = valueText(value);
  if (text === null || !/^\d+$/.test(text)) {
    throw new ImapSyntaxError(`Expected a number, got "${String(text)}"`, 0);
  }
  return Number(text);
}

/** A value as a 63-bit mod-sequence (RFC 7162 mod-sequence-value). */
export function valueBigInt(value: ImapValue | undefined): bigint {
  const text = valueText(value);
  if (text === null || !/^\d+$/.test(text)) {
    throw new ImapSyntaxError(`Expected a mod-sequence, got "${String(text)}"`, 0);
  }
  return BigInt(text);
}

/** A value as a list (NIL becomes an empty list). */
export function valueList(value: ImapValue | undefined): ImapValue[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value;
  throw new ImapSyntaxError("Expected a parenthesized list", 0);
}

export * from "./_imap_fetch.ts";
