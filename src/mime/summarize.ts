/**
 * What EAS needs from a parsed message: the body parts to show, the calendar part of a meeting
 * request, and the attachment list with IMAP section numbers to fetch them by later.
 *
 * @module
 */

import { decodeText, estimateDecodedSize } from "./decode.ts";
import { isMessage, isMultipart, type MimePart } from "./parse.ts";

/**
 * Attachment methods (MS-ASEMAIL section 2.2.2.8 Method): 1 normal attachment, 5 embedded
 * message, 6 attach by OLE.
 */
export const ATTACHMENT_METHOD = {
  normal: 1,
  embeddedMessage: 5,
} as const;

/** One attachment as EAS lists it (MS-ASEMAIL 2.2.2.7 Attachment). */
export interface AttachmentInfo {
  /** IMAP section number (RFC 3501 BODY[section]) to fetch the part by, e.g. "2" or "1.2". */
  partPath: string;
  /** The part's file name, or a generated one ("attachment-2.pdf") when the part has none. */
  filename: string;
  contentType: string;
  /** Decoded size estimate in bytes. */
  size: number;
  contentId?: string;
  /** True for parts shown inside the body (Content-Disposition inline or referenced by Content-ID). */
  inline: boolean;
  method: number;
  part: MimePart;
}

/** Body, calendar and attachments of a message. */
export interface MessageSummary {
  textPlain?: MimePart;
  textHtml?: MimePart;
  /** The text/calendar part of an iMIP message (RFC 6047), one that carries a METHOD. */
  calendar?: MimePart;
  attachments: AttachmentInfo[];
}

/** File extensions for generated names of attachments that came without one. */
const EXTENSIONS: Readonly<Record<string, string>> = {
  "text/plain": "txt",
  "text/html": "html",
  "text/calendar": "ics",
  "text/vcard": "vcf",
  "text/x-vcard": "vcf",
  "message/rfc822": "eml",
  "message/global": "eml",
  "message/delivery-status": "txt",
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/gif": "gif",
  "application/pdf": "pdf",
  "application/pkcs7-signature": "p7s",
  "application/x-pkcs7-signature": "p7s",
  "application/pgp-signature": "asc",
};

function fallbackName(part: MimePart): string {
  const type = part.contentType.mimeType;
  const extension = Object.hasOwn(EXTENSIONS, type) ? EXTENSIONS[type]! : "bin";
  if (isMessage(part)) {
    // deno-lint-ignore no-control-regex
    const subject = part.children[0]?.headers.text("subject").replace(/[\\/:*?"<>|\x00-\x1f]/g, "_").trim();
    if (subject) return `${subject.slice(0, 100)}.eml`;
  }
  return `attachment-${part.section || "1"}.${extension}`;
}

function hasMethod(part: MimePart): boolean {
  return part.contentType.params["method"] !== undefined || /^METHOD:/im.test(decodeText(part));
}

/**
 * Picks the body parts and lists the attachments, following how mail clients read structure
 * (RFC 2046): in multipart/alternative later parts are better; in multipart/mixed the first
 * readable part is the body and the rest are attachments; in multipart/related (RFC 2387)
 * the root is the body and the rest are inline resources; a message/rfc822 part is one
 * attachment (an embedded message), not descended into.
 */
export function summarize(root: MimePart): MessageSummary {
  const summary: MessageSummary = { attachments: [] };
  const hasBody = () => summary.textPlain !== undefined || summary.textHtml !== undefined;

  const attach = (part: MimePart) => {
    if (isMultipart(part)) {
      for (const child of part.children) attach(child);
      return;
    }
    const info: AttachmentInfo = {
      partPath: part.section,
      filename: part.filename ?? fallbackName(part),
      contentType: part.contentType.mimeType,
      size: estimateDecodedSize(part),
      inline: part.disposition ? part.disposition.type === "inline" : part.contentId !== undefined,
      method: isMessage(part) ? ATTACHMENT_METHOD.embeddedMessage : ATTACHMENT_METHOD.normal,
      part,
    };
    if (part.contentId) info.contentId = part.contentId;
    summary.attachments.push(info);
  };

  const visit = (part: MimePart, inBody: boolean, override: boolean): void => {
    if (isMultipart(part) && part.children.length > 0) {
      const children = part.children;
      switch (part.contentType.subtype) {
        case "alternative":
          for (const child of children) visit(child, inBody, true);
          return;
        case "related": {
          const start = part.contentType.params["start"]?.replace(/^<|>$/g, "");
          const root = children.find((child) => start && child.contentId === start) ?? children[0];
          for (const child of children) {
            if (child === root) visit(child, inBody, override);
            else attach(child);
          }
          return;
        }
        case "encrypted":
          for (const child of children) attach(child);
          return;
        default:
          // mixed, signed (RFC 1847: content first, signature second), report, digest, unknown.
          children.forEach((child, index) => visit(child, inBody && (index === 0 || !hasBody()), false));
          return;
      }
    }
    const disposition = part.disposition?.type;
    const readable = inBody && disposition !== "attachment" && part.filename === undefined;
    // A multipart whose boundary never occurs is shown as text, as desktop clients do.
    const { type, subtype } = isMultipart(part) ? { type: "text", subtype: "plain" } : part.contentType;
    if (type === "text" && subtype === "calendar") {
      if ((override || !summary.calendar) && hasMethod(part)) summary.calendar = part;
      if (!readable) attach(part);
      return;
    }
    if (readable && type === "text" && subtype === "plain" && (override || !summary.textPlain)) {
      summary.textPlain = part;
      return;
    }
    if (readable && type === "text" && subtype === "html" && (override || !summary.textHtml)) {
      summary.textHtml = part;
      return;
    }
    attach(part);
  };

  visit(root, true, false);
  return summary;
}
