/**
 * Composing RFC 5322 messages: headers with RFC 2047 encoding, MIME structure (RFC 2046), text
 * bodies in 7bit, quoted-printable or base64 as their content needs, base64 attachments,
 * iMIP calendar parts (RFC 6047), CRLF line ends throughout.
 *
 * @module
 */

import { concatBytes } from "./_bytes.ts";
import { type Address, formatAddressList } from "./address.ts";
import { encodeHeaderValue, encodeWords, foldHeader, isPlainHeaderText } from "./encoded_words.ts";
import { MIME_LIMITS } from "./limits.ts";
import { encodeBase64Lines, encodeQuotedPrintable } from "./transfer_encoding.ts";

const encoder = new TextEncoder();

/** A header field to write: name and unencoded value (structured values must already be valid). */
export type HeaderLine = [name: string, value: string];

/** A node of a message being built. */
export type BuildNode =
  | { kind: "leaf"; headers: HeaderLine[]; body: Uint8Array }
  | { kind: "multipart"; subtype: string; headers?: HeaderLine[]; children: BuildNode[] };

/** A file to attach. */
export interface AttachmentInput {
  filename: string;
  /** `type/subtype`; application/octet-stream when empty. */
  contentType: string;
  content: Uint8Array;
  /** Content-ID without angle brackets, for images an HTML body shows via `cid:`. */
  contentId?: string;
  /** Content-Disposition inline instead of attachment. */
  inline?: boolean;
}

/** An iCalendar object sent as an iMIP part (RFC 6047 section 2.4). */
export interface CalendarInput {
  /** iTIP method (RFC 5546): REQUEST, REPLY, CANCEL, ... ; repeated as Content-Type parameter. */
  method: string;
  /** The VCALENDAR text. */
  content: string;
}

/** What `buildMessage` composes. */
export interface BuildOptions {
  from: Address;
  to?: Address[];
  cc?: Address[];
  /** Written as a header; `headerEnvelope` removes it before transmission. */
  bcc?: Address[];
  replyTo?: Address[];
  subject?: string;
  /** Defaults to now. */
  date?: Date;
  /** Message-ID without angle brackets; generated from a random UUID and the From domain when absent. */
  messageId?: string;
  /** Message-IDs with angle brackets (RFC 5322 section 3.6.4). */
  inReplyTo?: string;
  references?: string[];
  /** More header fields (X-Mailer, Thread-Topic, ...); non-ASCII values are RFC 2047 encoded. */
  headers?: HeaderLine[];
  text?: string;
  html?: string;
  calendar?: CalendarInput;
  attachments?: AttachmentInput[];
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** An RFC 5322 date-time (section 3.3) in UTC: `Sat, 21 Nov 2026 18:19:43 +0000`. */
export function formatDate(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[date.getUTCDay()]}, ${date.getUTCDate()} ${
    MONTHS[date.getUTCMonth()]
  } ${date.getUTCFullYear()} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}

/** A new Message-ID with angle brackets: a random UUID at the given domain. */
export function newMessageId(domain: string): string {
  const host = /^[A-Za-z0-9.-]+$/.test(domain) ? domain : "pushbridge.invalid";
  return `<${crypto.randomUUID()}@${host}>`;
}

/** Text as UTF-8 with every line end made CRLF (RFC 5322 section 2.3 forbids bare CR and LF). */
export function crlfText(text: string): Uint8Array {
  return encoder.encode(text.replace(/\r\n|\r|\n/g, "\r\n"));
}

/**
 * A text leaf in UTF-8: 7bit when the text is ASCII with short lines, quoted-printable when it
 * is mostly ASCII, base64 otherwise (CJK and the like, where quoted-printable triples the size).
 */
export function textLeaf(mimeType: string, text: string, params: Record<string, string> = {}): BuildNode {
  const bytes = crlfText(text);
  let high = 0;
  let longest = 0;
  let lineStart = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) high++;
    if (bytes[i] === 0x0a) {
      longest = Math.max(longest, i - lineStart);
      lineStart = i + 1;
    }
  }
  longest = Math.max(longest, bytes.length - lineStart);
  const extra = Object.entries(params).map(([name, value]) => `; ${name}=${parameterValue(value)}`).join("");
  const headers: HeaderLine[] = [["Content-Type", `${mimeType}; charset=utf-8${extra}`]];
  if (high === 0 && longest <= MIME_LIMITS.maxLineLength) {
    headers.push(["Content-Transfer-Encoding", "7bit"]);
    return { kind: "leaf", headers, body: bytes };
  }
  if (high * 3 < bytes.length) {
    headers.push(["Content-Transfer-Encoding", "quoted-printable"]);
    return { kind: "leaf", headers, body: encoder.encode(encodeQuotedPrintable(bytes)) };
  }
  headers.push(["Content-Transfer-Encoding", "base64"]);
  return { kind: "leaf", headers, body: encoder.encode(encodeBase64Lines(bytes)) };
}

/** A token or a quoted-string parameter value (RFC 2045 section 5.1). */
function parameterValue(value: string): string {
  return /^[!#$%&'*+.^_`{|}~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/(["\\])/g, "\\$1")}"`;
}

/**
 * A file-name parameter: plain when ASCII; otherwise RFC 2231 `name*=UTF-8''...` split into
 * continuations, for Content-Disposition, or an RFC 2047 word in quotes (`rfc2047`), which is
 * what Outlook reads in Content-Type's name.
 */
function filenameParameter(name: string, filename: string, rfc2047: boolean): string {
  if (isPlainHeaderText(filename)) return `${name}=${parameterValue(filename)}`;
  if (rfc2047) return `${name}="${encodeWords(filename, " ")}"`;
  const encoded = Array.from(
    encoder.encode(filename),
    (byte) =>
      /[A-Za-z0-9.!~_-]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`,
  ).join("");
  const pieces: string[] = [];
  for (let at = 0; at < encoded.length;) {
    let end = Math.min(at + 60, encoded.length);
    // Never split a %XX escape between continuations.
    const percent = encoded.lastIndexOf("%", end - 1);
    if (percent > end - 3 && percent >= at && end < encoded.length) end = percent;
    pieces.push(encoded.slice(at, end));
    at = end;
  }
  if (pieces.length === 1) return `${name}*=UTF-8''${pieces[0]}`;
  return pieces.map((piece, index) => `${name}*${index}*=${index === 0 ? "UTF-8''" : ""}${piece}`).join(
    ";\r\n ",
  );
}

/** A base64 attachment leaf with Content-Type name and Content-Disposition filename. */
export function attachmentLeaf(attachment: AttachmentInput): BuildNode {
  const type = /^[\w.+-]+\/[\w.+-]+$/.test(attachment.contentType)
    ? attachment.contentType.toLowerCase()
    : "application/octet-stream";
  const headers: HeaderLine[] = [
    ["Content-Type", `${type}; ${filenameParameter("name", attachment.filename, true)}`],
    [
      "Content-Disposition",
      `${attachment.inline ? "inline" : "attachment"}; ${
        filenameParameter("filename", attachment.filename, false)
      }`,
    ],
    ["Content-Transfer-Encoding", "base64"],
  ];
  if (attachment.contentId) headers.push(["Content-ID", `<${attachment.contentId}>`]);
  return { kind: "leaf", headers, body: encoder.encode(encodeBase64Lines(attachment.content)) };
}

/** A multipart node, or the only child itself when there is just one. */
export function multipart(subtype: string, children: BuildNode[]): BuildNode {
  return children.length === 1 ? children[0]! : { kind: "multipart", subtype, children };
}

function newBoundary(): string {
  // Characters outside base64 and quoted-printable output ("=_") so no encoded body can contain it.
  return `=_pb_${crypto.randomUUID().replaceAll("-", "")}`;
}

function headerBytes(headers: readonly HeaderLine[]): string {
  return headers.map(([name, value]) => foldHeader(name, value) + "\r\n").join("");
}

/** Serializes a node: its headers (plus the multipart Content-Type), an empty line, the body. */
export function serializeNode(node: BuildNode, outer: HeaderLine[] = []): Uint8Array {
  if (node.kind === "leaf") {
    return concatBytes([encoder.encode(headerBytes([...outer, ...node.headers]) + "\r\n"), node.body]);
  }
  const boundary = newBoundary();
  const chunks: Uint8Array[] = [
    encoder.encode(
      headerBytes([...outer, ...(node.headers ?? []), [
        "Content-Type",
        `multipart/${node.subtype}; boundary="${boundary}"`,
      ]]) +
        "\r\n",
    ),
  ];
  for (const child of node.children) {
    // The line break before a delimiter belongs to the delimiter (RFC 2046 section 5.1.1).
    chunks.push(encoder.encode(`--${boundary}\r\n`), serializeNode(child), encoder.encode("\r\n"));
  }
  chunks.push(encoder.encode(`--${boundary}--\r\n`));
  return concatBytes(chunks);
}

/** The domain part of an address, for Message-IDs. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1) || "pushbridge.invalid";
}

/** The body structure for text, HTML, calendar and attachments. */
export function bodyNode(
  parts: { text?: string | undefined; html?: string | undefined; calendar?: CalendarInput | undefined },
  attachments: readonly AttachmentInput[] = [],
  extra: { alternatives?: BuildNode[]; inline?: BuildNode[]; attached?: BuildNode[] } = {},
): BuildNode {
  const inline = [
    ...attachments.filter((a) => a.inline && a.contentId).map(attachmentLeaf),
    ...(extra.inline ?? []),
  ];
  const attached = [
    ...attachments.filter((a) => !(a.inline && a.contentId)).map(attachmentLeaf),
    ...(extra.attached ?? []),
  ];
  const alternatives: BuildNode[] = [];
  if (parts.text !== undefined || (parts.html === undefined && !parts.calendar)) {
    alternatives.push(textLeaf("text/plain", parts.text ?? ""));
  }
  if (parts.html !== undefined) {
    // RFC 2387: inline images go with the HTML that refers to them.
    alternatives.push(multipart("related", [textLeaf("text/html", parts.html), ...inline]));
  }
  if (parts.calendar) {
    alternatives.push(
      textLeaf("text/calendar", parts.calendar.content, { method: parts.calendar.method.toUpperCase() }),
    );
  }
  alternatives.push(...(extra.alternatives ?? []));
  const body = multipart("alternative", alternatives);
  return multipart("mixed", parts.html === undefined ? [body, ...inline, ...attached] : [body, ...attached]);
}

/**
 * Composes a complete message: Date, From, To, Cc, Bcc, Reply-To, Subject, Message-ID,
 * In-Reply-To, References, MIME-Version, extra headers, then the body: text and HTML as
 * multipart/alternative (plus the iMIP text/calendar part), inline images in
 * multipart/related, attachments in multipart/mixed.
 */
export function buildMessage(options: BuildOptions): Uint8Array {
  const headers: HeaderLine[] = [
    ["Date", formatDate(options.date ?? new Date())],
    ["From", formatAddressList([options.from])],
  ];
  const list = (name: string, addresses: Address[] | undefined) => {
    if (addresses?.length) headers.push([name, formatAddressList(addresses)]);
  };
  list("To", options.to);
  list("Cc", options.cc);
  list("Bcc", options.bcc);
  list("Reply-To", options.replyTo);
  if (options.subject !== undefined) headers.push(["Subject", encodeHeaderValue(options.subject)]);
  const messageId = options.messageId
    ? `<${options.messageId.replace(/^<|>$/g, "")}>`
    : newMessageId(domainOf(options.from.address));
  headers.push(["Message-ID", messageId]);
  if (options.inReplyTo) headers.push(["In-Reply-To", options.inReplyTo]);
  if (options.references?.length) headers.push(["References", options.references.join(" ")]);
  headers.push(["MIME-Version", "1.0"]);
  for (const [name, value] of options.headers ?? []) {
    if (/^[\x21-\x39\x3b-\x7e]+$/.test(name)) headers.push([name, encodeHeaderValue(value)]);
  }
  const node = bodyNode(options, options.attachments);
  return serializeNode(node, headers);
}
