/**
 * Minimal ASN.1 DER writer and reader (ITU-T X.690), enough to build X.509
 * certificates (RFC 5280) with WebCrypto keys and to read back the fields the
 * appliance checks: validity, names, SANs, basic constraints and keys.
 *
 * Pure: no `Deno.*`.
 *
 * @module
 */

/** Universal tags of the types used here, with the constructed bit where DER requires it (X.680 8.4, X.690 8.1.2). */
export const DerTag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OBJECT_IDENTIFIER: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Tag class bits of the identifier octet (X.690 8.1.2.2). */
export const DerClass = {
  UNIVERSAL: 0x00,
  APPLICATION: 0x40,
  CONTEXT: 0x80,
  PRIVATE: 0xc0,
} as const;

const CONSTRUCTED = 0x20;

/** Largest tag number that fits the single identifier octet (X.690 8.1.2.4 uses more octets above 30). */
const MAX_LOW_TAG_NUMBER = 30;

/** RFC 5280 4.1.2.5: dates through 2049 are UTCTime, from 2050 on GeneralizedTime. */
const UTC_TIME_FIRST_YEAR = 1950;
const UTC_TIME_LAST_YEAR = 2049;

// ---------------------------------------------------------------------------
// Writer

function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Definite length octets, short form below 128 and minimal long form above (X.690 10.1). */
function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One TLV element from an identifier octet and its content octets. */
export function derElement(identifier: number, content: Uint8Array): Uint8Array<ArrayBuffer> {
  return concat([Uint8Array.of(identifier), encodeLength(content.length), content]);
}

/** SEQUENCE of already encoded elements, in the given order. */
export function derSequence(...items: Uint8Array[]): Uint8Array<ArrayBuffer> {
  return derElement(DerTag.SEQUENCE, concat(items));
}

/** SET OF already encoded elements; DER orders them by their encodings (X.690 11.6). */
export function derSet(...items: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const sorted = [...items].sort(compareBytes);
  return derElement(DerTag.SET, concat(sorted));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/**
 * Non-negative INTEGER from a number, bigint or unsigned big-endian bytes:
 * minimal two's complement, so a leading 0x00 is added when the high bit is
 * set and redundant leading zeros are dropped (X.690 8.3.2).
 */
export function derInteger(value: number | bigint | Uint8Array): Uint8Array<ArrayBuffer> {
  let magnitude: Uint8Array;
  if (value instanceof Uint8Array) {
    magnitude = value;
  } else {
    let n = BigInt(value);
    if (n < 0n) throw new RangeError(`Negative INTEGER '${n}' is not supported`);
    const bytes: number[] = [];
    for (; n > 0n; n >>= 8n) bytes.unshift(Number(n & 0xffn));
    magnitude = Uint8Array.from(bytes);
  }
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  let content = magnitude.subarray(start);
  if (content.length === 0) content = Uint8Array.of(0);
  if (content[0]! & 0x80) content = concat([Uint8Array.of(0), content]);
  return derElement(DerTag.INTEGER, content);
}

/** BOOLEAN; DER encodes TRUE as 0xFF (X.690 11.1). */
export function derBoolean(value: boolean): Uint8Array<ArrayBuffer> {
  return derElement(DerTag.BOOLEAN, Uint8Array.of(value ? 0xff : 0x00));
}

/** NULL (X.690 8.8). */
export function derNull(): Uint8Array<ArrayBuffer> {
  return derElement(DerTag.NULL, new Uint8Array());
}

/** BIT STRING with `unusedBits` unused trailing bits in the last octet (X.690 8.6). */
export function derBitString(bytes: Uint8Array, unusedBits = 0): Uint8Array<ArrayBuffer> {
  if (
    !Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits)
  ) {
    throw new RangeError(`BIT STRING unused bit count '${unusedBits}' is invalid`);
  }
  return derElement(DerTag.BIT_STRING, concat([Uint8Array.of(unusedBits), bytes]));
}

/**
 * Named-bit BIT STRING (such as KeyUsage) from the numbers of the set bits;
 * DER drops trailing zero bits (X.690 11.2.2).
 */
export function derNamedBits(bits: readonly number[]): Uint8Array<ArrayBuffer> {
  if (bits.length === 0) return derBitString(new Uint8Array());
  const highest = Math.max(...bits);
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  return derBitString(bytes, 7 - (highest & 7));
}

/** OCTET STRING (X.690 8.7). */
export function derOctetString(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return derElement(DerTag.OCTET_STRING, bytes);
}

/** OBJECT IDENTIFIER from dotted notation, base-128 arcs (X.690 8.19). */
export function derOid(dotted: string): Uint8Array<ArrayBuffer> {
  if (!/^[0-2](\.\d+)+$/.test(dotted)) throw new SyntaxError(`Object identifier '${dotted}' is malformed`);
  const arcs = dotted.split(".").map(BigInt);
  const [first, second] = arcs as [bigint, bigint];
  if (first < 2n && second > 39n) throw new SyntaxError(`Object identifier '${dotted}' is malformed`);
  const out: number[] = [];
  for (const arc of [first * 40n + second, ...arcs.slice(2)]) {
    const groups: number[] = [];
    let n = arc;
    do {
      groups.unshift(Number(n & 0x7fn));
      n >>= 7n;
    } while (n > 0n);
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return derElement(DerTag.OBJECT_IDENTIFIER, Uint8Array.from(out));
}

/** UTF8String (X.680 41). */
export function derUtf8String(text: string): Uint8Array<ArrayBuffer> {
  return derElement(DerTag.UTF8_STRING, new TextEncoder().encode(text));
}

/** PrintableString; rejects characters outside its repertoire (X.680 41.4). */
export function derPrintableString(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) {
    throw new RangeError(`'${text}' contains characters a PrintableString cannot hold`);
  }
  return derElement(DerTag.PRINTABLE_STRING, new TextEncoder().encode(text));
}

/** IA5String (ASCII), as used by dNSName in a SAN (RFC 5280 4.2.1.6). */
export function derIa5String(text: string): Uint8Array<ArrayBuffer> {
  if ([...text].some((c) => c.codePointAt(0)! > 0x7f)) {
    throw new RangeError(`'${text}' contains characters an IA5String cannot hold`);
  }
  return derElement(DerTag.IA5_STRING, new TextEncoder().encode(text));
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function timeDigits(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError("Time value is not a valid date");
  return pad(date.getUTCMonth() + 1, 2) + pad(date.getUTCDate(), 2) + pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) + pad(date.getUTCSeconds(), 2) + "Z";
}

/** UTCTime YYMMDDHHMMSSZ, seconds precision, for 1950 through 2049 (RFC 5280 4.1.2.5.1). */
export function derUtcTime(date: Date): Uint8Array<ArrayBuffer> {
  const year = date.getUTCFullYear();
  if (!(year >= UTC_TIME_FIRST_YEAR && year <= UTC_TIME_LAST_YEAR)) {
    throw new RangeError(`Year '${year}' cannot be written as UTCTime`);
  }
  return derElement(DerTag.UTC_TIME, new TextEncoder().encode(pad(year % 100, 2) + timeDigits(date)));
}

/** GeneralizedTime YYYYMMDDHHMMSSZ without fractions (RFC 5280 4.1.2.5.2). */
export function derGeneralizedTime(date: Date): Uint8Array<ArrayBuffer> {
  const year = date.getUTCFullYear();
  if (!(year >= 0 && year <= 9999)) {
    throw new RangeError(`Year '${year}' cannot be written as GeneralizedTime`);
  }
  return derElement(DerTag.GENERALIZED_TIME, new TextEncoder().encode(pad(year, 4) + timeDigits(date)));
}

/** Certificate Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
export function derTime(date: Date): Uint8Array<ArrayBuffer> {
  const year = date.getUTCFullYear();
  return year >= UTC_TIME_FIRST_YEAR && year <= UTC_TIME_LAST_YEAR
    ? derUtcTime(date)
    : derGeneralizedTime(date);
}

function contextIdentifier(tagNumber: number, constructed: boolean): number {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > MAX_LOW_TAG_NUMBER) {
    throw new RangeError(`Context tag number '${tagNumber}' is not supported`);
  }
  return DerClass.CONTEXT | (constructed ? CONSTRUCTED : 0) | tagNumber;
}

/** `[n] EXPLICIT`: a constructed context tag wrapping one whole encoded element. */
export function derExplicit(tagNumber: number, inner: Uint8Array): Uint8Array<ArrayBuffer> {
  return derElement(contextIdentifier(tagNumber, true), inner);
}

/** `[n] IMPLICIT`: the context tag replaces the type's own tag, over the given content octets. */
export function derImplicit(
  tagNumber: number,
  content: Uint8Array,
  constructed = false,
): Uint8Array<ArrayBuffer> {
  return derElement(contextIdentifier(tagNumber, constructed), content);
}

// ---------------------------------------------------------------------------
// Reader

/** A DER input that does not parse; `offset` is the byte where the problem was found. */
export class DerSyntaxError extends SyntaxError {
  /** Byte offset into the parsed buffer. */
  readonly offset: number;

  /** @param message what is wrong; @param offset where */
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = "DerSyntaxError";
    this.offset = offset;
  }
}

/** One decoded TLV element. */
export interface DerNode {
  /** The whole identifier octet (class, constructed bit and tag number). */
  readonly identifier: number;
  /** Tag class bits, one of {@link DerClass}. */
  readonly tagClass: number;
  readonly constructed: boolean;
  readonly tagNumber: number;
  /** Offset of the identifier octet in the original buffer. */
  readonly offset: number;
  /** Offset of the first content octet in the original buffer. */
  readonly contentOffset: number;
  readonly content: Uint8Array;
  /** The whole element, identifier through last content octet. */
  readonly raw: Uint8Array;
}

function readNode(buffer: Uint8Array, at: number, limit: number, base: number): DerNode {
  if (at >= limit) throw new DerSyntaxError("Expected an element but the input ended", base + at);
  const identifier = buffer[at]!;
  if ((identifier & 0x1f) === 0x1f) {
    throw new DerSyntaxError("Multi-octet tag numbers are not supported", base + at);
  }
  if (at + 1 >= limit) throw new DerSyntaxError("Element is missing its length", base + at);
  let length = buffer[at + 1]!;
  let header = 2;
  if (length === 0x80) throw new DerSyntaxError("Indefinite length is not allowed in DER", base + at + 1);
  if (length > 0x80) {
    const count = length & 0x7f;
    if (count > 4) throw new DerSyntaxError(`Length of ${count} octets is too large`, base + at + 1);
    if (at + 2 + count > limit) throw new DerSyntaxError("Length octets are truncated", base + at + 1);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buffer[at + 2 + i]!;
    header += count;
  }
  const end = at + header + length;
  if (end > limit) {
    throw new DerSyntaxError(`Element of ${length} bytes is truncated`, base + at);
  }
  return {
    identifier,
    tagClass: identifier & 0xc0,
    constructed: (identifier & CONSTRUCTED) !== 0,
    tagNumber: identifier & 0x1f,
    offset: base + at,
    contentOffset: base + at + header,
    content: buffer.subarray(at + header, end),
    raw: buffer.subarray(at, end),
  };
}

/** Decodes a buffer that must hold exactly one element. */
export function derDecode(bytes: Uint8Array): DerNode {
  const node = readNode(bytes, 0, bytes.length, 0);
  if (node.raw.length !== bytes.length) {
    throw new DerSyntaxError("Unexpected bytes after the element", node.raw.length);
  }
  return node;
}

/** The elements inside a constructed element, in order. */
export function derChildren(node: DerNode): DerNode[] {
  if (!node.constructed) throw new DerSyntaxError("Expected a constructed element", node.offset);
  const out: DerNode[] = [];
  for (let at = 0; at < node.content.length;) {
    const child = readNode(node.content, at, node.content.length, node.contentOffset);
    out.push(child);
    at += child.raw.length;
  }
  return out;
}

/** Throws unless `node` has the given identifier octet; returns it for chaining. */
export function derExpect(node: DerNode | undefined, identifier: number, what: string): DerNode {
  if (!node) throw new DerSyntaxError(`Expected ${what} but the element ended`, 0);
  if (node.identifier !== identifier) {
    throw new DerSyntaxError(
      `Expected ${what} (tag 0x${identifier.toString(16)}) but found tag 0x${node.identifier.toString(16)}`,
      node.offset,
    );
  }
  return node;
}

/** INTEGER value as bigint (two's complement). */
export function derReadInteger(node: DerNode): bigint {
  derExpect(node, DerTag.INTEGER, "an INTEGER");
  if (node.content.length === 0) throw new DerSyntaxError("INTEGER has no content", node.offset);
  let n = 0n;
  for (const b of node.content) n = (n << 8n) | BigInt(b);
  if (node.content[0]! & 0x80) n -= 1n << BigInt(node.content.length * 8);
  return n;
}

/** BOOLEAN value; any non-zero octet is TRUE (BER leniency for certificates in the wild). */
export function derReadBoolean(node: DerNode): boolean {
  derExpect(node, DerTag.BOOLEAN, "a BOOLEAN");
  if (node.content.length !== 1) throw new DerSyntaxError("BOOLEAN must have one content octet", node.offset);
  return node.content[0] !== 0;
}

/** BIT STRING content without the unused-bits octet. */
export function derReadBitString(node: DerNode): { bytes: Uint8Array; unusedBits: number } {
  derExpect(node, DerTag.BIT_STRING, "a BIT STRING");
  const unusedBits = node.content[0];
  if (unusedBits === undefined || unusedBits > 7) {
    throw new DerSyntaxError("BIT STRING has an invalid unused-bits octet", node.offset);
  }
  return { bytes: node.content.subarray(1), unusedBits };
}

/** OBJECT IDENTIFIER in dotted notation. */
export function derReadOid(node: DerNode): string {
  derExpect(node, DerTag.OBJECT_IDENTIFIER, "an OBJECT IDENTIFIER");
  const arcs: bigint[] = [];
  let n = 0n;
  for (let i = 0; i < node.content.length; i++) {
    const b = node.content[i]!;
    n = (n << 7n) | BigInt(b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(n);
      n = 0n;
    } else if (i === node.content.length - 1) {
      throw new DerSyntaxError("OBJECT IDENTIFIER ends inside an arc", node.offset);
    }
  }
  const [first] = arcs;
  if (first === undefined) throw new DerSyntaxError("OBJECT IDENTIFIER is empty", node.offset);
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join(".");
}

/** Text of any of the string types found in certificate names. */
export function derReadString(node: DerNode): string {
  switch (node.identifier) {
    case DerTag.UTF8_STRING:
      return new TextDecoder("utf-8", { fatal: true }).decode(node.content);
    case DerTag.PRINTABLE_STRING:
    case DerTag.IA5_STRING:
      return new TextDecoder("ascii").decode(node.content);
    case DerTag.T61_STRING:
      // RFC 5280 4.1.2.4 notes T61String is in practice Latin-1.
      return new TextDecoder("latin1").decode(node.content);
    case DerTag.BMP_STRING:
      return new TextDecoder("utf-16be").decode(node.content);
    case DerTag.UNIVERSAL_STRING: {
      const points: number[] = [];
      const view = new DataView(node.content.buffer, node.content.byteOffset, node.content.byteLength);
      for (let i = 0; i + 4 <= node.content.length; i += 4) points.push(view.getUint32(i));
      return String.fromCodePoint(...points);
    }
    default:
      throw new DerSyntaxError(`Tag 0x${node.identifier.toString(16)} is not a string type`, node.offset);
  }
}

/** UTCTime or GeneralizedTime (the forms RFC 5280 4.1.2.5 allows: Zulu, whole seconds). */
export function derReadTime(node: DerNode): Date {
  const text = new TextDecoder("ascii").decode(node.content);
  let match: RegExpMatchArray | null;
  let year: number;
  if (node.identifier === DerTag.UTC_TIME) {
    match = text.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/);
    if (!match) throw new DerSyntaxError(`UTCTime '${text}' is malformed`, node.offset);
    const yy = Number(match[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.identifier === DerTag.GENERALIZED_TIME) {
    match = text.match(/^\d{2}(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/);
    if (!match) throw new DerSyntaxError(`GeneralizedTime '${text}' is malformed`, node.offset);
    year = Number(text.slice(0, 4));
  } else {
    throw new DerSyntaxError(`Tag 0x${node.identifier.toString(16)} is not a time type`, node.offset);
  }
  const [, , month, day, hour, minute, second] = match.map(Number) as number[];
  const date = new Date(Date.UTC(year, month! - 1, day, hour, minute, second || 0));
  if (date.getUTCFullYear() !== year) date.setUTCFullYear(year); // Date.UTC maps 0-99 to 1900-1999
  return date;
}
