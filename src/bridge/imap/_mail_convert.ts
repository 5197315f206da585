import type { EmailOptions, MeetingRequestReader } from "../../backend/mail.ts";
import { type Attachment, BODY_TYPE } from "../../eas/model/airsyncbase.ts";
import { type Email, FLAG_STATUS, IMPORTANCE, LAST_VERB, MESSAGE_CLASS } from "../../eas/model/email.ts";
import {
  type Address,
  decodeHeaderValue,
  decodeText,
  type HeaderMap,
  htmlToText,
  type MimePart,
  parseAddressList,
  parseMessage,
  summarize,
  textToHtml,
} from "../../mime/mod.ts";

/** What conversion needs to know about a message besides its content. */
export interface MessageMeta {
  uid: number;
  flags: readonly string[];
  internalDate: Date;
  /** RFC822.SIZE */
  size: number;
}

/** A text body of the message, possibly only its beginning. */
export interface TextBody {
  text: string;
  /** Full decoded size in bytes (estimated for partially fetched parts). */
  size: number;
  /** Whether `text` is the whole body. */
  complete: boolean;
}

/** One attachment as conversion sees it (from a parsed message or from BODYSTRUCTURE). */
export interface AttachmentView {
  section: string;
  filename: string;
  size: number;
  contentId?: string;
  inline: boolean;
  method: number;
}

/** The parts of a message conversion uses, independent of how they were fetched. */
export interface MessageView {
  headers: HeaderMap;
  plain?: TextBody;
  html?: TextBody;
  attachments: AttachmentView[];
  /** METHOD of an iMIP text/calendar part (RFC 6047), upper case. */
  calendarMethod?: string;
  /** The iMIP text/calendar part itself, when the message was fetched whole (Email:MeetingRequest). */
  calendarText?: string;
  /** multipart/signed or application/pkcs7-mime at the top. */
  smime?: "signed" | "encrypted";
  /** The raw message, when fetched whole (MIME bodies, type 4). */
  raw?: Uint8Array;
}

const UTF8 = new TextEncoder();
const SYSTEM_KEYWORD = /^[\\$]/;

/** Builds a MessageView from a whole raw message. */
export function viewOfMessage(raw: Uint8Array): MessageView {
  const root = parseMessage(raw);
  const summary = summarize(root);
  const view: MessageView = {
    headers: root.headers,
    attachments: summary.attachments.map((a) => ({
      section: a.partPath,
      filename: a.filename,
      size: a.size,
      inline: a.inline,
      method: a.method,
      ...(a.contentId ? { contentId: a.contentId } : {}),
    })),
    raw,
  };
  if (summary.textPlain) view.plain = wholeText(summary.textPlain);
  if (summary.textHtml) view.html = wholeText(summary.textHtml);
  if (summary.calendar) {
    const calendarText = decodeText(summary.calendar);
    const method = summary.calendar.contentType.params["method"] ??
      /^METHOD:([A-Za-z-]+)/im.exec(calendarText)?.[1];
    if (method) {
      view.calendarMethod = method.toUpperCase();
      view.calendarText = calendarText;
    }
  }
  const smime = smimeOf(root);
  if (smime) view.smime = smime;
  return view;
}

function wholeText(part: MimePart): TextBody {
  const text = decodeText(part);
  return { text, size: UTF8.encode(text).length, complete: true };
}

function smimeOf(root: MimePart): "signed" | "encrypted" | undefined {
  const t = root.contentType.mimeType;
  if (t === "multipart/signed") return "signed";
  if (t === "application/pkcs7-mime" || t === "application/x-pkcs7-mime") return "encrypted";
  return undefined;
}

/** The change token of a message: its flags and keywords, sorted (what a device is told about). */
export function flagsToken(flags: readonly string[]): string {
  return flags.filter((f) => f.toLowerCase() !== "\\recent").map((f) => f.toLowerCase()).sort().join(" ");
}

/**
 * Category name -> IMAP keyword. Keywords are atoms (RFC 3501 9: no space,
 * "%", "*", brackets, quotes or non-ASCII), so other characters become "&"
 * and two hex digits per UTF-8 byte ("Red category" -> "Red&20category").
 */
export function keywordOfCategory(category: string): string {
  return Array.from(UTF8.encode(category), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9_.\-]/.test(c) ? c : `&${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");
}

/** IMAP keyword -> category name (the inverse of keywordOfCategory; other keywords pass as they are). */
export function categoryOfKeyword(keyword: string): string {
  if (!/&[0-9A-F]{2}/.test(keyword)) return keyword;
  const bytes: number[] = [];
  for (let i = 0; i < keyword.length; i++) {
    const hex = keyword[i] === "&" ? /^[0-9A-F]{2}$/.exec(keyword.slice(i + 1, i + 3))?.[0] : undefined;
    if (hex) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else bytes.push(...UTF8.encode(keyword[i]!));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/**
 * The properties a device may see change (MS-ASEMAIL): Read from \Seen,
 * Flag from \Flagged, Categories from keywords, LastVerbExecuted from
 * \Answered / $Forwarded.
 */
export function changeableProperties(flags: readonly string[], version: string): Email {
  const lower = new Set(flags.map((f) => f.toLowerCase()));
  const email: Email = {
    read: lower.has("\\seen"),
    flag: lower.has("\\flagged") ? { status: FLAG_STATUS.Active, flagType: "Flag for follow up" } : {},
  };
  if (Number.parseFloat(version) >= 14) {
    email.categories = flags.filter((f) => !SYSTEM_KEYWORD.test(f)).map(categoryOfKeyword);
    if (lower.has("$forwarded")) email.lastVerbExecuted = LAST_VERB.Forward;
    else if (lower.has("\\answered")) email.lastVerbExecuted = LAST_VERB.ReplyToSender;
  }
  return email;
}

/**
 * Converts a message to an EAS Email for a device, following its body
 * preferences; `readMeetingRequest` (the calendar bridge's, given by the
 * composition root) fills MeetingRequest from an iMIP body.
 */
export function emailOfView(
  view: MessageView,
  meta: MessageMeta,
  options: EmailOptions,
  readMeetingRequest?: MeetingRequestReader,
): Email {
  const h = view.headers;
  const email: Email = {};
  const to = addresses(h, "to");
  const cc = addresses(h, "cc");
  const from = addresses(h, "from");
  const replyTo = addresses(h, "reply-to");
  if (to.length) email.to = formatList(to);
  if (cc.length) email.cc = formatList(cc);
  if (from.length) email.from = formatList(from);
  const subject = headerText(h, "subject");
  if (subject !== undefined) email.subject = subject;
  if (replyTo.length) email.replyTo = formatList(replyTo);
  email.dateReceived = meta.internalDate;
  email.displayTo = to.map((a) => a.name || a.address).join("; ");
  email.threadTopic = headerText(h, "thread-topic") ?? threadTopicOf(subject ?? "");
  email.importance = importanceOf(h);
  Object.assign(email, changeableProperties(meta.flags, options.version));
  email.messageClass = messageClassOf(view);
  // An invitation or cancellation carries its meeting for the phone's Accept/Decline (MS-ASEMAIL 2.2.2.48).
  const meeting = view.calendarText ? readMeetingRequest?.(view.calendarText) : undefined;
  if (meeting) email.meetingRequest = meeting;
  // Invitations, cancellations and replies also feed the user's calendar (see the Sync command).
  if (view.calendarText) email.meetingIcs = view.calendarText;
  email.internetCpid = "65001";
  email.contentClass = "urn:content-classes:message";
  email.nativeBodyType = view.html ? BODY_TYPE.Html : BODY_TYPE.PlainText;
  if (Number.parseFloat(options.version) >= 14) {
    const conversation = conversationOf(h, subject ?? "", meta.internalDate);
    email.conversationId = conversation.id;
    email.conversationIndex = conversation.index;
  }
  if (meta.flags.some((f) => f.toLowerCase() === "\\draft")) email.isDraft = true;
  if (Number.parseFloat(options.version) < 12) {
    Object.assign(email, body25(view, options));
    return email;
  }
  email.body = bodyOf(view, options, meta);
  const part = options.bodyPartPreferences?.find((p) => p.type === BODY_TYPE.Html);
  if (part && Number.parseFloat(options.version) >= 14.1) {
    // BodyPart (MS-ASAIRS 2.2.2.10) carries the HTML of the message itself; only type 2 exists.
    const html = view.html ??
      { text: textToHtml(plainOf(view).text), size: 0, complete: plainOf(view).complete };
    const cut = cutUtf8(html.text, part.truncationSize);
    const size = html.size || UTF8.encode(html.text).length;
    email.bodyPart = { status: 1, type: BODY_TYPE.Html, estimatedDataSize: size };
    if (cut.cut || !html.complete) email.bodyPart.truncated = true;
    if (!(cut.cut && part.allOrNone)) email.bodyPart.data = cut.text;
    if (part.preview) {
      email.bodyPart.preview = plainOf(view).text.replace(/\s+/g, " ").trim().slice(0, part.preview);
    }
  }
  const attachments = view.attachments.map((a): Attachment => ({
    displayName: a.filename,
    fileReference: `${options.folderServerId}:${meta.uid}:${a.section}`,
    method: a.method,
    estimatedDataSize: a.size,
    isInline: a.inline,
    ...(a.contentId ? { contentId: a.contentId } : {}),
  }));
  if (attachments.length) email.attachments = attachments;
  return email;
}

/** Whether the device's preferences ask for MIME (type 4) for this message (MS-ASCMD 2.2.3.100.3 MIMESupport). */
export function wantsMime(options: EmailOptions, smime: boolean): boolean {
  const asked = options.bodyPreferences.some((p) => p.type === BODY_TYPE.Mime);
  if (!asked && Number.parseFloat(options.version) >= 12) return false;
  return options.mimeSupport === 2 || (options.mimeSupport === 1 && smime);
}

function bodyOf(view: MessageView, options: EmailOptions, meta: MessageMeta) {
  const prefs = options.bodyPreferences;
  const pick = (type: number) => prefs.find((p) => p.type === type);
  const mime = wantsMime(options, view.smime !== undefined) ? pick(BODY_TYPE.Mime) : undefined;
  const html = view.html ? pick(BODY_TYPE.Html) : undefined;
  // A message without the asked-for type (HTML asked, plain text only) goes out as plain text
  // under the device's own size limits (MS-ASAIRS 3.2.5.2: the server picks the best it has).
  const textLimits = pick(BODY_TYPE.Html) ?? prefs[0];
  const preference = mime ?? html ?? pick(BODY_TYPE.PlainText) ??
    { ...(textLimits ?? {}), type: BODY_TYPE.PlainText };
  const previewChars = prefs.find((p) => p.preview)?.preview;
  let data: string | Uint8Array;
  let size: number;
  let complete: boolean;
  if (preference.type === BODY_TYPE.Mime && view.raw) {
    const limit = preference.truncationSize;
    const whole = view.raw.length >= meta.size;
    const bytes = limit !== undefined && view.raw.length > limit ? view.raw.subarray(0, limit) : view.raw;
    data = mimeData(bytes);
    size = meta.size;
    complete = whole && bytes.length === view.raw.length;
  } else {
    const text = preference.type === BODY_TYPE.Html ? view.html! : plainOf(view);
    const cut = cutUtf8(text.text, preference.truncationSize);
    data = cut.text;
    size = text.size;
    complete = text.complete && !cut.cut;
  }
  const body: NonNullable<Email["body"]> = { type: preference.type, estimatedDataSize: size };
  if (!complete) body.truncated = true;
  if (complete || !preference.allOrNone) body.data = data;
  if (previewChars && Number.parseFloat(options.version) >= 14) {
    body.preview = plainOf(view).text.replace(/\s+/g, " ").trim().slice(0, previewChars);
  }
  return body;
}

function body25(view: MessageView, options: EmailOptions): Email {
  const out: Email = {};
  if (wantsMime(options, view.smime !== undefined) && view.raw) {
    const limit = options.mimeTruncation25;
    const bytes = limit !== undefined && view.raw.length > limit ? view.raw.subarray(0, limit) : view.raw;
    out.mimeData25 = mimeData(bytes);
    out.mimeSize25 = view.raw.length;
    if (bytes.length < view.raw.length) out.mimeTruncated25 = true;
    return out;
  }
  const text = plainOf(view);
  const cut = cutUtf8(text.text, options.truncation25);
  out.body25 = cut.text;
  out.bodySize25 = text.size;
  if (cut.cut || !text.complete) out.bodyTruncated25 = true;
  return out;
}

function plainOf(view: MessageView): TextBody {
  if (view.plain) return view.plain;
  if (view.html) {
    const text = htmlToText(view.html.text);
    return { text, size: UTF8.encode(text).length, complete: view.html.complete };
  }
  return { text: "", size: 0, complete: true };
}

/** MIME goes out as text when it is valid UTF-8 (7-bit mail always is), else as the raw bytes. */
function mimeData(bytes: Uint8Array): string | Uint8Array {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return bytes;
  }
}

/** Cuts text to at most `limit` UTF-8 bytes on a character boundary. */
export function cutUtf8(text: string, limit: number | undefined): { text: string; cut: boolean } {
  if (limit === undefined) return { text, cut: false };
  const bytes = UTF8.encode(text);
  if (bytes.length <= limit) return { text, cut: false };
  let end = limit;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return { text: new TextDecoder().decode(bytes.subarray(0, end)), cut: true };
}

function headerText(h: HeaderMap, name: string): string | undefined {
  const raw = h.get(name);
  return raw === undefined ? undefined : decodeHeaderValue(raw).replace(/\s*\r?\n\s*/g, " ").trim();
}

function addresses(h: HeaderMap, name: string): Address[] {
  const raw = h.get(name);
  if (raw === undefined) return [];
  try {
    return parseAddressList(raw);
  } catch {
    return [];
  }
}

/** EAS shows addresses as `"Name" <address>` with the name decoded (MS-ASEMAIL 2.2.2.79 To). */
function formatList(list: Address[]): string {
  return list.map((a) => a.name ? `"${a.name.replace(/["\\]/g, "")}" <${a.address}>` : a.address).join(", ");
}

function threadTopicOf(subject: string): string {
  return subject.replace(/^\s*((re|fw|fwd|aw|wg|sv|vs|tr)(\[\d+\])?:\s*)+/i, "").trim();
}

function importanceOf(h: HeaderMap): number {
  const importance = h.get("importance")?.trim().toLowerCase();
  if (importance === "high") return IMPORTANCE.High;
  if (importance === "low") return IMPORTANCE.Low;
  const priority = Number.parseInt(h.get("x-priority")?.trim() ?? "3", 10);
  if (priority === 1 || priority === 2) return IMPORTANCE.High;
  if (priority === 4 || priority === 5) return IMPORTANCE.Low;
  return IMPORTANCE.Normal;
}

function messageClassOf(view: MessageView): string {
  switch (view.calendarMethod) {
    case "REQUEST":
      return MESSAGE_CLASS.MeetingRequest;
    case "CANCEL":
      return MESSAGE_CLASS.MeetingCanceled;
  }
  if (view.smime === "signed") return MESSAGE_CLASS.Signed;
  if (view.smime === "encrypted") return MESSAGE_CLASS.Encrypted;
  return MESSAGE_CLASS.Note;
}

/**
 * Conversation view (MS-ASEMAIL 2.2.2.14, 2.2.2.15): messages of one thread
 * share a ConversationId. The thread root is the first Message-ID of
 * References, else In-Reply-To, else the message's own Message-ID; messages
 * without any ids are grouped by Thread-Topic / normalized subject. The index
 * is the Outlook layout: a 22-byte header (reserved byte, 5 bytes of time,
 * the 16-byte id) plus 5 bytes per reply level.
 */
export function conversationOf(
  h: HeaderMap,
  subject: string,
  date: Date,
): { id: Uint8Array; index: Uint8Array } {
  const ids = (value: string | undefined) => (value ?? "").match(/<[^<>\s]+>/g) ?? [];
  const references = ids(h.get("references"));
  const inReplyTo = ids(h.get("in-reply-to"));
  const own = ids(h.get("message-id"));
  const root = references[0] ?? inReplyTo[0] ?? own[0] ??
    `topic:${(headerText(h, "thread-topic") ?? threadTopicOf(subject)).toLowerCase()}`;
  const id = hash16(root);
  const depth = Math.min(references.length || inReplyTo.length, 50);
  const index = new Uint8Array(22 + 5 * depth);
  index[0] = 1;
  // FILETIME (100 ns since 1601) of the date, its top 5 bytes.
  const filetime = (BigInt(date.getTime()) + 11_644_473_600_000n) * 10_000n;
  for (let i = 0; i < 5; i++) index[1 + i] = Number((filetime >> BigInt(56 - 8 * i)) & 0xffn);
  index.set(id, 6);
  for (let level = 0; level < depth; level++) {
    const block = hash16(`${root}/${(references[level + 1] ?? inReplyTo[0] ?? own[0]) ?? level}`);
    index.set(block.subarray(0, 5), 22 + level * 5);
  }
  return { id, index };
}

/** 16 bytes of a string (two 64-bit FNV-1a hashes); stable across processes, not cryptographic. */
function hash16(text: string): Uint8Array {
  const out = new Uint8Array(16);
  const bytes = UTF8.encode(text);
  for (let half = 0; half < 2; half++) {
    let h = 0xcbf29ce484222325n ^ BigInt(half);
    for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
    for (let i = 0; i < 8; i++) out[half * 8 + i] = Number((h >> BigInt(8 * i)) & 0xffn);
  }
  return out;
}
