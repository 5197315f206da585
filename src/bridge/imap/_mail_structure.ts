import { decodeCharset, decodeHeaderValue, parseMessage } from "../../mime/mod.ts";
import { decodeBase64, decodeQuotedPrintable } from "../../mime/transfer_encoding.ts";
import type { AttachmentView, MessageView, TextBody } from "./_mail_convert.ts";
import type { StructurePart } from "./_mail_session.ts";

/** The text parts of a large message to fetch (partially) and its attachment list, from BODYSTRUCTURE alone. */
export interface StructurePlan {
  plain?: StructurePart;
  html?: StructurePart;
  attachments: AttachmentView[];
  calendarMethod?: string;
  smime?: "signed" | "encrypted";
}

/**
 * Reads a BODYSTRUCTURE the way `summarize` reads a parsed message (RFC 2046
 * rules: later alternatives are better, the root of multipart/related is the
 * body, the first readable part of multipart/mixed is the body, the rest are
 * attachments), so a large message never has to be fetched whole.
 */
export function planFromStructure(root: StructurePart): StructurePlan {
  const plan: StructurePlan = { attachments: [] };
  const mime = `${root.type}/${root.subtype}`;
  if (mime === "multipart/signed") plan.smime = "signed";
  if (mime === "application/pkcs7-mime" || mime === "application/x-pkcs7-mime") plan.smime = "encrypted";
  const hasBody = () => plan.plain !== undefined || plan.html !== undefined;
  const attach = (part: StructurePart): void => {
    if (part.type === "multipart") {
      for (const c of part.parts ?? []) attach(c);
      return;
    }
    const filename = part.disposition?.params["filename"] ?? part.params["name"];
    const view: AttachmentView = {
      section: part.section || "1",
      filename: filename ? decodeHeaderValue(filename) : `attachment-${part.section || "1"}.bin`,
      size: part.encoding === "base64" ? Math.floor(part.size * 3 / 4) : part.size,
      inline: part.disposition ? part.disposition.type === "inline" : part.id !== undefined,
      method: part.type === "message" ? 5 : 1,
    };
    if (part.id) view.contentId = part.id.replace(/^<|>$/g, "");
    plan.attachments.push(view);
  };
  const visit = (part: StructurePart, override: boolean): void => {
    if (part.type === "multipart") {
      const children = part.parts ?? [];
      if (part.subtype === "alternative") {
        for (const c of children) visit(c, true);
      } else if (part.subtype === "related") {
        const start = part.params["start"]?.replace(/^<|>$/g, "");
        const rootPart = children.find((c) => start && c.id?.replace(/^<|>$/g, "") === start) ?? children[0];
        for (const c of children) c === rootPart ? visit(c, override) : attach(c);
      } else {
        for (const c of children) {
          if (!hasBody() || c.type === "multipart") visit(c, override);
          else attach(c);
        }
      }
      return;
    }
    const isAttachment = part.disposition?.type === "attachment";
    if (!isAttachment && part.type === "text" && (part.subtype === "plain" || part.subtype === "html")) {
      const slot = part.subtype === "plain" ? "plain" : "html";
      if (plan[slot] === undefined || override) {
        plan[slot] = part;
        return;
      }
    }
    if (!isAttachment && part.type === "text" && part.subtype === "calendar") {
      const method = part.params["method"];
      if (method) {
        plan.calendarMethod = method.toUpperCase();
        return;
      }
    }
    attach(part);
  };
  visit(root, false);
  return plan;
}

/**
 * Decodes the beginning of a part fetched with BODY.PEEK[section]<0.n>:
 * base64 is cut to whole groups, quoted-printable and 8bit pass as they are,
 * then the charset applies.
 */
export function partialText(part: StructurePart, bytes: Uint8Array, complete: boolean): TextBody {
  let decoded: Uint8Array;
  if (part.encoding === "base64") {
    const clean = bytes.filter((b) => b !== 0x0d && b !== 0x0a && b !== 0x20);
    decoded = decodeBase64(complete ? clean : clean.subarray(0, clean.length - (clean.length % 4)));
  } else if (part.encoding === "quoted-printable") {
    decoded = decodeQuotedPrintable(bytes);
  } else decoded = bytes;
  const text = decodeCharset(decoded, part.params["charset"]);
  const size = part.encoding === "base64" ? Math.floor(part.size * 3 / 4) : part.size;
  return { text, size: complete ? new TextEncoder().encode(text).length : size, complete };
}

/** A MessageView of a large message from its header block, plan and partially fetched texts. */
export function viewOfLargeMessage(
  header: Uint8Array,
  plan: StructurePlan,
  texts: { plain?: TextBody; html?: TextBody },
  raw?: Uint8Array,
): MessageView {
  const view: MessageView = { headers: parseMessage(header).headers, attachments: plan.attachments };
  if (texts.plain) view.plain = texts.plain;
  if (texts.html) view.html = texts.html;
  if (plan.calendarMethod) view.calendarMethod = plan.calendarMethod;
  if (plan.smime) view.smime = plan.smime;
  if (raw) view.raw = raw;
  return view;
}

/** The Content-Type of a part for ItemOperations/GetAttachment. */
export function contentTypeOf(part: StructurePart): string {
  const name = part.params["name"];
  const type = `${part.type}/${part.subtype}`;
  return name ? `${type}; name="${decodeHeaderValue(name).replace(/["\\\r\n]/g, "")}"` : type;
}

/** Finds a part of a structure by IMAP section. */
export function partAt(root: StructurePart, section: string): StructurePart | undefined {
  if (root.section === section) return root;
  for (const c of root.parts ?? []) {
    const found = partAt(c, section);
    if (found) return found;
  }
  // A single-part message: BODY[1] is the body itself.
  if (section === "1" && !root.parts) return root;
  return undefined;
}
