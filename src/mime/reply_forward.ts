/**
 * SmartReply and SmartForward (MS-ASCMD 2.2.1.18, 2.2.1.19): the phone sends only its new text;
 * the server adds the original message's body below it (quoted on reply) and, on forward,
 * the original's attachments. With ReplaceMime the phone's MIME is sent as it is.
 *
 * @module
 */

import { formatAddressList, parseAddressList } from "./address.ts";
import { bodyNode, type BuildNode, domainOf, formatDate, newMessageId, serializeNode } from "./build.ts";
import { decodeText } from "./decode.ts";
import { prependHeaderFields } from "./envelope.ts";
import type { HeaderMap } from "./headers.ts";
import { escapeHtml, htmlToText, textToHtml } from "./html_text.ts";
import { type MimePart, parseMessage, rawBody } from "./parse.ts";
import { summarize } from "./summarize.ts";

/** What `buildReplyOrForward` combines. */
export interface ReplyForwardOptions {
  /** The MIME the phone sent with SmartReply or SmartForward. */
  phoneMime: Uint8Array;
  /** The original message, as fetched from the mailstore. */
  original: Uint8Array;
  mode: "reply" | "forward";
  /** MS-ASCMD 2.2.3.152 ReplaceMime: the phone's MIME is complete; nothing of the original is added. */
  replaceMime: boolean;
}

/** Signature parts of the original are useless once its content is re-wrapped; they are not forwarded. */
const SIGNATURE_TYPES = new Set([
  "application/pkcs7-signature",
  "application/x-pkcs7-signature",
  "application/pgp-signature",
]);

/** Top-level fields the rebuilt message takes from its new MIME structure, not from the phone. */
const STRUCTURE_FIELDS = /^(content-[a-z-]+|mime-version)$/i;

function messageIds(value: string | undefined): string[] {
  return value?.match(/<[^<>\s]+>/g) ?? [];
}

/** In-Reply-To and References for a reply (RFC 5322 section 3.6.4), when the phone left them out. */
function threadingFields(phone: HeaderMap, original: HeaderMap): string[] {
  const originalId = messageIds(original.get("message-id"))[0];
  if (!originalId) return [];
  const lines: string[] = [];
  if (!phone.has("in-reply-to")) lines.push(`In-Reply-To: ${originalId}`);
  if (!phone.has("references")) {
    const chain = messageIds(original.get("references") ?? original.get("in-reply-to"));
    lines.push(`References: ${[...chain, originalId].join("\r\n ")}`);
  }
  return lines;
}

/** The readable body of a message: its text and, when it has one, its HTML. */
function bodies(root: MimePart): { text: string; html?: string } {
  const summary = summarize(root);
  const html = summary.textHtml ? decodeText(summary.textHtml) : undefined;
  const text = summary.textPlain ? decodeText(summary.textPlain) : html !== undefined ? htmlToText(html) : "";
  return html === undefined ? { text } : { text, html };
}

/** The content of `<body>` (or everything when there is no body element). */
function htmlBodyContent(html: string): string {
  const open = /<body\b[^>]*>/i.exec(html);
  const start = open ? open.index + open[0].length : 0;
  const close = html.toLowerCase().lastIndexOf("</body");
  return html.slice(start, close >= start ? close : html.length);
}

/** Puts a fragment at the end of an HTML document's body, or after a fragment. */
function appendToHtml(html: string, fragment: string): string {
  const close = html.toLowerCase().lastIndexOf("</body");
  return close < 0 ? `${html}\n${fragment}` : `${html.slice(0, close)}${fragment}\n${html.slice(close)}`;
}

/** Lines naming the original message, as desktop clients write them above a quote. */
function originalIntro(headers: HeaderMap, mode: "reply" | "forward"): string[] {
  const from = formatAddressList(parseAddressList(headers.get("from") ?? "")) || headers.text("from");
  if (mode === "reply") return [`On ${headers.text("date") || "an earlier date"}, ${from} wrote:`];
  const lines = ["-------- Original Message --------", `Subject: ${headers.text("subject")}`];
  lines.push(`Date: ${headers.text("date")}`, `From: ${from}`);
  const to = formatAddressList(parseAddressList(headers.get("to") ?? ""));
  if (to) lines.push(`To: ${to}`);
  const cc = formatAddressList(parseAddressList(headers.get("cc") ?? ""));
  if (cc) lines.push(`Cc: ${cc}`);
  return lines;
}

/** A part copied as it is: its Content-* fields and its still-encoded body. */
function rawNode(part: MimePart): BuildNode {
  const headers = part.headers.fields.filter((field) => /^content-/i.test(field.name))
    .map((field): [string, string] => [field.name, field.value]);
  return { kind: "leaf", headers, body: rawBody(part) };
}

/**
 * The message to submit for SmartReply or SmartForward. Without ReplaceMime the phone's text
 * and HTML get the original's body below them (on reply quoted with "> " and a blockquote,
 * on forward under an "Original Message" block), the phone's own attachments are kept, and on
 * forward the original's attachments are appended (MS-ASCMD 2.2.1.18: the server includes
 * them); on reply only the original's inline images, which its quoted HTML shows, come along.
 * The phone's headers (From, To, Cc, Subject, ...) stay as they are; a reply gets
 * In-Reply-To and References from the original when the phone did not set them.
 *
 * Also callable as `buildReplyOrForward(phoneMime, original, { kind })` (no ReplaceMime).
 * Throws `MimeSyntaxError` when either message exceeds the parser's limits.
 */
export function buildReplyOrForward(options: ReplyForwardOptions): Uint8Array;
export function buildReplyOrForward(
  phoneMime: Uint8Array,
  original: Uint8Array,
  options: { kind: "reply" | "forward" },
): Uint8Array;
export function buildReplyOrForward(
  first: ReplyForwardOptions | Uint8Array,
  original?: Uint8Array,
  positional?: { kind: "reply" | "forward" },
): Uint8Array {
  const options: ReplyForwardOptions = first instanceof Uint8Array
    ? { phoneMime: first, original: original!, mode: positional!.kind, replaceMime: false }
    : first;
  const phone = parseMessage(options.phoneMime);
  const source = parseMessage(options.original);
  const threading = options.mode === "reply" ? threadingFields(phone.headers, source.headers) : [];
  if (options.replaceMime) return prependHeaderFields(options.phoneMime, threading);

  const mine = bodies(phone);
  const theirs = bodies(source);
  const intro = originalIntro(source.headers, options.mode);
  const quotedText = options.mode === "reply"
    ? theirs.text.replace(/\r\n?/g, "\n").split("\n").map((line) =>
      line.startsWith(">") ? `>${line}` : `> ${line}`
    )
      .join("\n")
    : theirs.text;
  const text = `${mine.text.trimEnd()}\n\n${intro.join("\n")}\n${quotedText}`;

  let html: string | undefined;
  if (mine.html !== undefined || theirs.html !== undefined) {
    const introHtml = `<div>${intro.map(escapeHtml).join("<br>\n")}</div>`;
    const originalHtml = theirs.html !== undefined ? htmlBodyContent(theirs.html) : textToHtml(theirs.text);
    const quoted = options.mode === "reply"
      ? `<blockquote type="cite" style="margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex">${originalHtml}</blockquote>`
      : `<div>${originalHtml}</div>`;
    const fragment = `<br>\n${introHtml}\n${quoted}`;
    html = mine.html !== undefined
      ? appendToHtml(mine.html, fragment)
      : `<html><body>${textToHtml(mine.text)}${fragment}</body></html>`;
  }

  const phoneSummary = summarize(phone);
  const attached = phoneSummary.attachments.filter((a) => !a.inline).map((a) => rawNode(a.part));
  const inline = phoneSummary.attachments.filter((a) => a.inline).map((a) => rawNode(a.part));
  const alternatives =
    phoneSummary.calendar && !phoneSummary.attachments.some((a) => a.part === phoneSummary.calendar)
      ? [rawNode(phoneSummary.calendar)]
      : [];
  for (const attachment of summarize(source).attachments) {
    if (SIGNATURE_TYPES.has(attachment.contentType)) continue;
    const shownInQuote = attachment.inline && attachment.contentId !== undefined && theirs.html !== undefined;
    if (options.mode === "forward") (shownInQuote ? inline : attached).push(rawNode(attachment.part));
    else if (shownInQuote) inline.push(rawNode(attachment.part));
  }

  const headers = phone.headers.fields.filter((field) => !STRUCTURE_FIELDS.test(field.name))
    .map((field): [string, string] => [field.name, field.value]);
  if (!phone.headers.has("date")) headers.push(["Date", formatDate(new Date())]);
  if (!phone.headers.has("message-id")) {
    const from = parseAddressList(phone.headers.get("from") ?? "")[0]?.address ?? "";
    headers.push(["Message-ID", newMessageId(domainOf(from))]);
  }
  for (const line of threading) {
    const colon = line.indexOf(":");
    headers.push([line.slice(0, colon), line.slice(colon + 2)]);
  }
  headers.push(["MIME-Version", "1.0"]);
  return serializeNode(bodyNode({ text, html }, [], { alternatives, inline, attached }), headers);
}
