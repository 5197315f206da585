/**
 * The HTTP/1.1 request head (RFC 9112 sections 2-6): request line, header
 * fields and the message body framing they declare. Pure: bytes in, a parsed
 * head or an {@link HttpHeadError} with the status to answer out.
 */

/** A request head the server refuses, with the status to answer (400, 414, 431, 501, 505). */
export class HttpHeadError extends SyntaxError {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "HttpHeadError";
  }
}

/** Sizes a head may have (LIMITS.maxRequestLineBytes, maxHeaderBytes, maxHeaderFields). */
export interface HeadLimits {
  maxRequestLineBytes: number;
  maxHeaderBytes: number;
  maxHeaderFields: number;
}

/** How the request body is delimited (RFC 9112 section 6.3). */
export type BodyFraming = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" };

/** A parsed request head. */
export interface RequestHead {
  method: string;
  /** The request-target as sent: origin-form ("/path?query"), absolute-form or "*". */
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minorVersion: 0 | 1;
  /** Field name/value pairs in order, names as sent, values without surrounding whitespace. */
  fields: [string, string][];
  /** The Host field value ("" when absent, only allowed in HTTP/1.0). */
  host: string;
  framing: BodyFraming;
  /** Connection persists after this exchange (RFC 9112 section 9.3). */
  keepAlive: boolean;
  /** "Expect: 100-continue" was sent (RFC 9110 section 10.1.1). */
  expectContinue: boolean;
}

/** Outcome of looking for a complete head in buffered bytes. */
export type HeadScan =
  | { kind: "incomplete" }
  | { kind: "complete"; head: RequestHead; length: number };

const CR = 13;
const LF = 10;

// RFC 9110 section 5.6.2: token = 1*tchar.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 section 5.5: field-value characters are VCHAR, obs-text, SP and HTAB; CR, LF and NUL never.
// deno-lint-ignore no-control-regex -- the controls are what this rejects
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
// RFC 9112 section 3.2: request-target; anything but controls, space and DEL (stricter forms are checked below).
// deno-lint-ignore no-control-regex -- the controls are what this rejects
const BAD_TARGET = /[\x00-\x20\x7f-\xff]/;

/**
 * Looks for a complete head at the start of `bytes`. Empty lines before the
 * request line are skipped (RFC 9112 section 2.2). Lines end in CRLF; a bare
 * CR or LF is refused (section 2.2 lets a server reject them, which avoids
 * request smuggling through front ends that read them differently). Size
 * limits apply while the head is still incomplete, so a client cannot make
 * the server buffer more than a head may hold.
 */
export function scanRequestHead(bytes: Uint8Array, limits: HeadLimits): HeadScan {
  let start = 0;
  while (start + 1 < bytes.length && bytes[start] === CR && bytes[start + 1] === LF) {
    start += 2;
    if (start > 32) throw new HttpHeadError(400, "Too many empty lines before the request line");
  }
  const lineEnd = indexOfCrlf(bytes, start);
  if (lineEnd < 0) {
    if (bytes.length - start > limits.maxRequestLineBytes) {
      throw new HttpHeadError(414, `Request line longer than ${limits.maxRequestLineBytes} bytes`);
    }
    checkBareLineEnds(bytes, start, bytes.length);
    return { kind: "incomplete" };
  }
  if (lineEnd - start > limits.maxRequestLineBytes) {
    throw new HttpHeadError(414, `Request line longer than ${limits.maxRequestLineBytes} bytes`);
  }
  const fieldsStart = lineEnd + 2;
  const end = indexOfHeadEnd(bytes, lineEnd);
  const fieldsEnd = end < 0 ? bytes.length : end + 2;
  if (fieldsEnd - fieldsStart > limits.maxHeaderBytes) {
    throw new HttpHeadError(431, `Request header fields exceed ${limits.maxHeaderBytes} bytes`);
  }
  if (end < 0) {
    checkBareLineEnds(bytes, start, bytes.length);
    // Fields seen so far already above the limit: no need to wait for the rest.
    if (countLines(bytes, fieldsStart) > limits.maxHeaderFields) {
      throw new HttpHeadError(431, `More than ${limits.maxHeaderFields} request header fields`);
    }
    return { kind: "incomplete" };
  }
  checkBareLineEnds(bytes, start, end + 4);
  const text = byteString(bytes.subarray(start, end));
  const lines = text.split("\r\n");
  const head = parseLines(lines, limits);
  return { kind: "complete", head, length: end + 4 };
}

function parseLines(lines: string[], limits: HeadLimits): RequestHead {
  const requestLine = lines[0]!;
  const parts = requestLine.split(" ");
  if (parts.length !== 3) throw new HttpHeadError(400, "Malformed request line");
  const [method, target, version] = parts as [string, string, string];
  if (!TOKEN.test(method)) throw new HttpHeadError(400, "Malformed request method");
  const versionMatch = /^HTTP\/(\d)\.(\d)$/.exec(version);
  if (!versionMatch) throw new HttpHeadError(400, "Malformed HTTP version");
  if (versionMatch[1] !== "1") throw new HttpHeadError(505, `HTTP version '${version}' is not supported`);
  const minorVersion = versionMatch[2] === "0" ? 0 : 1;
  checkTarget(method, target);

  const count = lines.length - 1;
  if (count > limits.maxHeaderFields) {
    throw new HttpHeadError(431, `More than ${limits.maxHeaderFields} request header fields`);
  }
  const fields: [string, string][] = new Array(count);
  let hosts = 0;
  let host = "";
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  let connection = "";
  let expect: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    // RFC 9112 section 5.2: obs-fold (a line starting with whitespace) may be rejected; section 5.1:
    // whitespace between the name and the colon MUST be rejected with 400.
    if (colon <= 0) throw new HttpHeadError(400, "Malformed header field");
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HttpHeadError(400, "Malformed header field name");
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (BAD_VALUE.test(value)) throw new HttpHeadError(400, `Header field '${name}' has a bad character`);
    fields[i - 1] = [name, value];
    switch (name.toLowerCase()) {
      case "host":
        hosts++;
        host = value;
        break;
      case "content-length":
        contentLength = contentLength === undefined ? value : `${contentLength},${value}`;
        break;
      case "transfer-encoding":
        transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
        break;
      case "connection":
        connection = connection ? `${connection},${value}` : value;
        break;
      case "expect":
        expect = expect === undefined ? value : `${expect},${value}`;
        break;
    }
  }
  // RFC 9112 section 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host or with more than one.
  if (hosts > 1 || (hosts === 0 && minorVersion === 1)) {
    throw new HttpHeadError(400, hosts ? "More than one Host header field" : "Host header field is missing");
  }
  if (BAD_TARGET.test(host) || /[/?#@\\]/.test(host)) throw new HttpHeadError(400, "Malformed Host");

  const framing = bodyFraming(contentLength, transferEncoding, minorVersion);
  const tokens = connection.toLowerCase().split(",").map((t) => t.trim());
  // RFC 9112 section 9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
  const keepAlive = minorVersion === 1 ? !tokens.includes("close") : tokens.includes("keep-alive");
  let expectContinue = false;
  if (expect !== undefined) {
    // RFC 9110 section 10.1.1: 100-continue is the only expectation; others get 417 (by the server).
    if (expect.trim().toLowerCase() !== "100-continue") {
      throw new HttpHeadError(417, `Expectation '${expect}' is not supported`);
    }
    // An HTTP/1.0 client cannot read a 100 response (section 10.1.1: ignore the expectation).
    expectContinue = minorVersion === 1;
  }
  return { method, target, minorVersion, fields, host, framing, keepAlive, expectContinue };
}

/**
 * RFC 9112 section 6.3: Transfer-Encoding with Content-Length is refused
 * (request smuggling), as is a Transfer-Encoding whose final coding is not
 * chunked (400) or one we do not implement (501); differing Content-Length
 * values are refused, equal repeated ones accepted.
 */
function bodyFraming(
  contentLength: string | undefined,
  transferEncoding: string | undefined,
  minorVersion: 0 | 1,
): BodyFraming {
  if (transferEncoding !== undefined) {
    if (contentLength !== undefined) {
      throw new HttpHeadError(400, "Both Transfer-Encoding and Content-Length are present");
    }
    if (minorVersion === 0) throw new HttpHeadError(400, "Transfer-Encoding in an HTTP/1.0 request");
    const codings = transferEncoding.split(",").map((c) => c.trim().toLowerCase()).filter((c) => c);
    if (codings[codings.length - 1] !== "chunked") {
      throw new HttpHeadError(400, "The final transfer coding is not chunked");
    }
    if (codings.length > 1) {
      throw new HttpHeadError(501, `Transfer coding '${codings[0]}' is not implemented`);
    }
    return { kind: "chunked" };
  }
  if (contentLength === undefined) return { kind: "none" };
  const values = contentLength.split(",").map((v) => v.trim());
  const first = values[0]!;
  if (!/^\d{1,15}$/.test(first) || values.some((v) => v !== first)) {
    throw new HttpHeadError(400, "Malformed Content-Length");
  }
  const length = Number(first);
  return length === 0 ? { kind: "none" } : { kind: "length", length };
}

/**
 * RFC 9112 section 3.2: origin-form for every method but OPTIONS ("*") and
 * CONNECT (authority-form, which this server does not proxy); absolute-form
 * is accepted as section 3.2.2 requires.
 */
function checkTarget(method: string, target: string): void {
  if (BAD_TARGET.test(target)) throw new HttpHeadError(400, "Malformed request target");
  if (method === "CONNECT") throw new HttpHeadError(501, "CONNECT is not supported");
  if (target.startsWith("/")) {
    if (target.startsWith("//")) throw new HttpHeadError(400, "Malformed request target");
    return;
  }
  if (target === "*" && method === "OPTIONS") return;
  if (/^https?:\/\/[^/?#]+/i.test(target)) return;
  throw new HttpHeadError(400, "Malformed request target");
}

function indexOfCrlf(bytes: Uint8Array, from: number): number {
  for (let i = bytes.indexOf(LF, from); i >= 0; i = bytes.indexOf(LF, i + 1)) {
    if (i > 0 && bytes[i - 1] === CR) return i - 1;
    throw new HttpHeadError(400, "Bare LF in the request head");
  }
  return -1;
}

/** Index of the CRLF that ends the last field line (the CRLFCRLF), searched from the request line's CRLF. */
function indexOfHeadEnd(bytes: Uint8Array, from: number): number {
  for (let i = bytes.indexOf(LF, from); i >= 0 && i + 2 < bytes.length; i = bytes.indexOf(LF, i + 1)) {
    if (bytes[i + 1] === CR && bytes[i + 2] === LF) return i - 1;
  }
  return -1;
}

function checkBareLineEnds(bytes: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const b = bytes[i];
    if (b === CR) {
      if (i + 1 < to && bytes[i + 1] !== LF) throw new HttpHeadError(400, "Bare CR in the request head");
    } else if (b === LF) {
      if (i === from || bytes[i - 1] !== CR) throw new HttpHeadError(400, "Bare LF in the request head");
    } else if (b === 0) {
      throw new HttpHeadError(400, "NUL in the request head");
    }
  }
}

function countLines(bytes: Uint8Array, from: number): number {
  let n = 0;
  for (let i = bytes.indexOf(LF, from); i >= 0; i = bytes.indexOf(LF, i + 1)) n++;
  return n;
}

const ascii = new TextDecoder();

/** Bytes as a byte string (one char per byte, like the Fetch spec's isomorphic decode). */
export function byteString(bytes: Uint8Array): string {
  let high = false;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! > 0x7f) {
      high = true;
      break;
    }
  }
  if (!high) return ascii.decode(bytes);
  let out = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return out;
}
