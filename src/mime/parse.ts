/**
 * The MIME parser: one pass over the input builds a tree of parts that point into the input by
 * byte offsets, so bodies are sliced without copying and decoded only when asked
 * (`decodeBody`, `decodeText`).
 *
 * @module
 */

import { MimeSyntaxError } from "./errors.ts";
import { HeaderMap, parseParameterized, readHeaderBlock } from "./headers.ts";
import { MIME_LIMITS } from "./limits.ts";
import { decodeBase64, decodeQuotedPrintable } from "./transfer_encoding.ts";

/** A parsed Content-Type (RFC 2045 section 5): lowercased type and subtype, and parameters. */
export interface ContentType {
  type: string;
  subtype: string;
  /** `type/subtype`. */
  mimeType: string;
  params: Record<string, string>;
}

/** A parsed Content-Disposition (RFC 2183): `inline`, `attachment` or another token. */
export interface ContentDisposition {
  type: string;
  params: Record<string, string>;
}

/** One node of the MIME tree. */
export interface MimePart {
  /** The bytes this part's offsets refer to: the input, or a decoded copy for an encoded message/rfc822. */
  source: Uint8Array;
  /** Offset of the part's first header line in `source`. */
  headerStart: number;
  /** Offset of the first body byte (after the empty line that ends the headers). */
  bodyStart: number;
  /** Offset after the last body byte; the line break before a boundary belongs to the boundary (RFC 2046 section 5.1.1). */
  bodyEnd: number;
  headers: HeaderMap;
  contentType: ContentType;
  disposition?: ContentDisposition;
  /** Attachment name from Content-Disposition filename, else Content-Type name, decoded, without directories. */
  filename?: string;
  /** Content-ID without angle brackets. */
  contentId?: string;
  /** Content-Transfer-Encoding lowercased; "7bit" when absent (RFC 2045 section 6.1). */
  transferEncoding: string;
  /**
   * IMAP section number of this part as in RFC 3501 section 6.4.5 BODY[section]: "1", "2.1",
   * ... For a multipart it is the prefix of its children ("" at the top). A non-multipart
   * message body is "1" (or "N.1" inside a message/rfc822 part N).
   */
  section: string;
  /** Nesting depth: 0 for the top-level message. */
  depth: number;
  /** Parts of a multipart, or the one encapsulated message of a message/rfc822 part. */
  children: MimePart[];
  /** Offsets of a multipart's preamble and epilogue (RFC 2046 section 5.1.1), for completeness. */
  preamble?: [start: number, end: number];
  epilogue?: [start: number, end: number];
}

/** Options of `parseMessage`; both default to `MIME_LIMITS`. */
export interface ParseOptions {
  maxParts?: number;
  maxDepth?: number;
}

interface Context {
  maxParts: number;
  maxDepth: number;
  parts: number;
}

/** The part's raw (still transfer-encoded) body: a view into the input, no copy. */
export function rawBody(part: MimePart): Uint8Array {
  return part.source.subarray(part.bodyStart, part.bodyEnd);
}

/** Every part of the tree, depth first in message order, starting with `part` itself. */
export function* walkParts(part: MimePart): Generator<MimePart> {
  yield part;
  for (const child of part.children) yield* walkParts(child);
}

/** True for multipart/* parts that have a usable boundary and were split into children. */
export function isMultipart(part: MimePart): boolean {
  return part.contentType.type === "multipart";
}

/** True for message/rfc822 (and RFC 6532 message/global) parts, whose body is a whole message. */
export function isMessage(part: MimePart): boolean {
  const { type, subtype } = part.contentType;
  return type === "message" && (subtype === "rfc822" || subtype === "global");
}

function parseContentType(raw: string | undefined, fallback: string): ContentType {
  const parsed = parseParameterized(raw ?? fallback);
  // A missing ";" before the parameters ("text/plain charset=x") still yields the type.
  const found = /^([a-z0-9!#$&^_.+-]+)\/([a-z0-9!#$&^_.+-]+)(?:$|[\s,])/.exec(parsed.value);
  // RFC 2045 section 5.2: a missing or unparseable Content-Type means text/plain.
  const match = found ?? /^([^/]+)\/(.+)$/.exec(fallback)!;
  const params = raw !== undefined && found ? parsed.params : Object.create(null);
  return { type: match[1]!, subtype: match[2]!, mimeType: `${match[1]}/${match[2]}`, params };
}

function baseName(name: string): string {
  const cut = Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\"));
  // deno-lint-ignore no-control-regex
  return name.slice(cut + 1).replace(/[\x00-\x1f\x7f]/g, "").trim();
}

/**
 * Parses a message (RFC 5322 headers, RFC 2045-2049 MIME structure). Tolerant of what mailers
 * get wrong: bare LF line ends, missing closing boundary (the last part runs to the end),
 * garbage header lines, unknown encodings. Throws `MimeSyntaxError` only when a limit is
 * exceeded: more than `maxParts` parts or nesting deeper than `maxDepth`.
 */
export function parseMessage(bytes: Uint8Array, options: ParseOptions = {}): MimePart {
  const context: Context = {
    maxParts: options.maxParts ?? MIME_LIMITS.maxParts,
    maxDepth: options.maxDepth ?? MIME_LIMITS.maxDepth,
    parts: 0,
  };
  return parsePart(context, bytes, 0, bytes.length, "", 0, true, "text/plain");
}

function parsePart(
  context: Context,
  source: Uint8Array,
  start: number,
  end: number,
  section: string,
  depth: number,
  messageRoot: boolean,
  defaultType: string,
): MimePart {
  if (++context.parts > context.maxParts) {
    throw new MimeSyntaxError(`Message has more than ${context.maxParts} parts`, start);
  }
  if (depth > context.maxDepth) {
    throw new MimeSyntaxError(`Message nests deeper than ${context.maxDepth} levels`, start);
  }
  const { headers, bodyStart } = readHeaderBlock(source, start, end);
  const contentType = parseContentType(headers.get("content-type"), defaultType);
  const transfer = parseParameterized(headers.get("content-transfer-encoding") ?? "7bit").value || "7bit";
  const multipart = contentType.type === "multipart";
  const prefix = section ? `${section}.` : "";
  const part: MimePart = {
    source,
    headerStart: start,
    bodyStart,
    bodyEnd: end,
    headers,
    contentType,
    transferEncoding: transfer,
    section: messageRoot && !multipart ? `${prefix}1` : section,
    depth,
    children: [],
  };
  const disposition = headers.get("content-disposition");
  if (disposition !== undefined) {
    const parsed = parseParameterized(disposition);
    part.disposition = { type: parsed.value, params: parsed.params };
  }
  const filename = baseName(part.disposition?.params["filename"] ?? contentType.params["name"] ?? "");
  if (filename) part.filename = filename;
  const contentId = headers.get("content-id")?.trim().replace(/^<|>$/g, "").trim();
  if (contentId) part.contentId = contentId;

  if (multipart) {
    splitMultipart(context, part, prefix);
  } else if (isMessage(part) && bodyStart < end) {
    // The encapsulated message's parts are numbered under this part's section (RFC 3501 6.4.5).
    let inner = source;
    let innerStart = bodyStart;
    let innerEnd = end;
    if (transfer === "base64" || transfer === "quoted-printable") {
      // RFC 2046 section 5.2.1 forbids encoding message/rfc822, but some mailers do; parse the decoded copy.
      const raw = source.subarray(bodyStart, end);
      inner = transfer === "base64" ? decodeBase64(raw) : decodeQuotedPrintable(raw);
      innerStart = 0;
      innerEnd = inner.length;
    }
    part.children.push(
      parsePart(context, inner, innerStart, innerEnd, part.section, depth + 1, true, "text/plain"),
    );
  }
  return part;
}

/** Delimiter lines found in a multipart body. */
interface Delimiter {
  /** Offset of the line break before the delimiter (or of the delimiter itself at the body start). */
  before: number;
  /** Offset after the delimiter line's line end. */
  after: number;
  close: boolean;
}

function findDelimiters(source: Uint8Array, start: number, end: number, boundary: Uint8Array): Delimiter[] {
  const found: Delimiter[] = [];
  let line = start;
  while (line < end) {
    let lineEnd = source.indexOf(0x0a, line);
    if (lineEnd < 0 || lineEnd >= end) lineEnd = end;
    const next = lineEnd < end ? lineEnd + 1 : end;
    if (source[line] === 0x2d && source[line + 1] === 0x2d && line + 2 + boundary.length <= lineEnd) {
      let at = line + 2;
      let matches = true;
      for (let i = 0; i < boundary.length; i++) {
        if (source[at + i] !== boundary[i]) {
          matches = false;
          break;
        }
      }
      if (matches) {
        at += boundary.length;
        const close = source[at] === 0x2d && source[at + 1] === 0x2d;
        if (close) at += 2;
        // Only transport padding may follow the boundary, else it is a longer boundary or text.
        while (at < lineEnd && (source[at] === 0x20 || source[at] === 0x09 || source[at] === 0x0d)) at++;
        if (at === lineEnd) {
          let before = line;
          if (before > start && source[before - 1] === 0x0a) before--;
          if (before > start && source[before - 1] === 0x0d) before--;
          found.push({ before, after: next, close });
          if (close) return found;
        }
      }
    }
    line = next;
  }
  return found;
}

function splitMultipart(context: Context, part: MimePart, prefix: string): void {
  const boundaryText = part.contentType.params["boundary"] ?? "";
  if (!boundaryText || boundaryText.length > MIME_LIMITS.maxBoundaryLength) return;
  const boundary = new TextEncoder().encode(boundaryText);
  const delimiters = findDelimiters(part.source, part.bodyStart, part.bodyEnd, boundary);
  if (delimiters.length === 0) return;
  part.preamble = [part.bodyStart, delimiters[0]!.before];
  // RFC 2046 section 5.1.5: parts of multipart/digest default to message/rfc822.
  const childType = part.contentType.subtype === "digest" ? "message/rfc822" : "text/plain";
  for (let i = 0; i < delimiters.length; i++) {
    const delimiter = delimiters[i]!;
    if (delimiter.close) {
      part.epilogue = [delimiter.after, part.bodyEnd];
      break;
    }
    // A missing closing delimiter is tolerated: the last part runs to the end of the body.
    const partEnd = Math.max(delimiter.after, delimiters[i + 1]?.before ?? part.bodyEnd);
    const child = parsePart(
      context,
      part.source,
      delimiter.after,
      partEnd,
      `${prefix}${part.children.length + 1}`,
      part.depth + 1,
      false,
      childType,
    );
    part.children.push(child);
  }
}
