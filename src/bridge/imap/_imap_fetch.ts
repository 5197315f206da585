/**
 * Typed views of IMAP data responses: FETCH rows with ENVELOPE and
 * BODYSTRUCTURE (RFC 3501 section 7.4.2), LIST, STATUS, ESEARCH (RFC 4731),
 * VANISHED (RFC 7162 section 3.2.10) and sequence sets.
 */

import { IMAP_LIMITS } from "./_imap_limits.ts";
import { decodeMailboxName } from "./_imap_utf7.ts";
import {
  type DataResponse,
  ImapSyntaxError,
  type ImapValue,
  type StreamedLiteral,
  valueBigInt,
  valueList,
  valueNumber,
  valueText,
} from "./imap_parser.ts";

/** One address of an ENVELOPE; `group` names the RFC 5322 group it was listed in. */
export interface EnvelopeAddress {
  name: string | null;
  /** The RFC 2822 source route (obsolete, kept for completeness). */
  adl: string | null;
  mailbox: string | null;
  host: string | null;
  /** `mailbox@host`, or the mailbox alone when the host is missing. */
  address: string | null;
  group?: string;
}

/** A parsed ENVELOPE; header values are raw (RFC 2047 words not decoded). */
export interface Envelope {
  date: string | null;
  subject: string | null;
  from: EnvelopeAddress[];
  sender: EnvelopeAddress[];
  replyTo: EnvelopeAddress[];
  to: EnvelopeAddress[];
  cc: EnvelopeAddress[];
  bcc: EnvelopeAddress[];
  inReplyTo: string | null;
  messageId: string | null;
}

/** A Content-Disposition as given in BODYSTRUCTURE. */
export interface BodyDisposition {
  type: string;
  params: Record<string, string>;
}

/** A node of a parsed BODYSTRUCTURE. Types and parameter names are lower-cased. */
export interface BodyStructure {
  /** The IMAP section number of this part ("1", "2.1"); "" for a multipart root or a multipart inside message/rfc822 numbered by its parent. */
  part: string;
  type: string;
  subtype: string;
  params: Record<string, string>;
  id: string | null;
  description: string | null;
  encoding: string | null;
  size: number;
  /** Lines of text/* and message/rfc822 parts. */
  lines?: number;
  md5?: string | null;
  disposition?: BodyDisposition | null;
  language?: string[] | null;
  location?: string | null;
  /** Children of a multipart, or the single enclosed body of message/rfc822. */
  parts?: BodyStructure[];
  /** Envelope of an enclosed message/rfc822. */
  envelope?: Envelope;
}

/** One FETCH response, typed. */
export interface FetchRow {
  seq: number;
  uid?: number;
  flags?: string[];
  modseq?: bigint;
  internalDate?: Date;
  size?: number;
  envelope?: Envelope;
  bodyStructure?: BodyStructure;
  /** BODY[...], BINARY[...] and RFC822* literals by item name as the server wrote it (upper-cased), e.g. "BODY[HEADER]", "BODY[]<0>". */
  sections: Map<string, Uint8Array>;
  /** Every item as parsed, by upper-cased name (for extensions such as EMAILID or X-GM-*). */
  attributes: Map<string, ImapValue>;
}

/** A mailbox as LIST describes it. */
export interface MailboxInfo {
  /** Decoded Unicode name. */
  name: string;
  delimiter: string | null;
  /** Attributes and special-use flags (RFC 6154), as sent (e.g. "\\HasNoChildren", "\\Sent"). */
  flags: string[];
}

/** STATUS items (RFC 3501 section 6.3.10, RFC 7162 HIGHESTMODSEQ). */
export interface MailboxStatus {
  messages?: number;
  recent?: number;
  uidNext?: number;
  uidValidity?: number;
  unseen?: number;
  highestModSeq?: bigint;
}

function nstring(value: ImapValue | undefined): string | null {
  return valueText(value);
}

function parseAddresses(value: ImapValue | undefined): EnvelopeAddress[] {
  const out: EnvelopeAddress[] = [];
  let group: string | undefined;
  for (const item of valueList(value)) {
    const [name, adl, mailbox, host] = valueList(item).map((v) => nstring(v));
    if (host === null || host === undefined) {
      // RFC 3501 7.4.2: NIL host marks a group; NIL mailbox too ends it.
      group = mailbox === null || mailbox === undefined ? undefined : mailbox;
      continue;
    }
    const address: EnvelopeAddress = {
      name: name ?? null,
      adl: adl ?? null,
      mailbox: mailbox ?? null,
      host,
      address: mailbox ? `${mailbox}@${host}` : host,
    };
    if (group !== undefined) address.group = group;
    out.push(address);
  }
  return out;
}

/** Parses an ENVELOPE list. */
export function parseEnvelope(value: ImapValue | undefined): Envelope {
  const v = valueList(value);
  if (v.length < 10) throw new ImapSyntaxError(`Envelope has ${v.length} fields instead of 10`, 0);
  return {
    date: nstring(v[0]),
    subject: nstring(v[1]),
    from: parseAddresses(v[2]),
    sender: parseAddresses(v[3]),
    replyTo: parseAddresses(v[4]),
    to: parseAddresses(v[5]),
    cc: parseAddresses(v[6]),
    bcc: parseAddresses(v[7]),
    inReplyTo: nstring(v[8]),
    messageId: nstring(v[9]),
  };
}

function parseParams(value: ImapValue | undefined): Record<string, string> {
  const list = valueList(value);
  const params: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) {
    const key = nstring(list[i]);
    if (key !== null) params[key.toLowerCase()] = nstring(list[i + 1]) ?? "";
  }
  return params;
}

function parseDisposition(value: ImapValue | undefined): BodyDisposition | null {
  if (!Array.isArray(value)) return null;
  return { type: (nstring(value[0]) ?? "").toLowerCase(), params: parseParams(value[1]) };
}

function parseLanguage(value: ImapValue | undefined): string[] | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((v) => nstring(v) ?? "");
  return [nstring(value) ?? ""];
}

function childPart(parent: string, index: number): string {
  return parent === "" ? String(index + 1) : `${parent}.${index + 1}`;
}

function parseBody(value: ImapValue | undefined, part: string): BodyStructure {
  const v = valueList(value);
  if (Array.isArray(v[0])) {
    const parts: BodyStructure[] = [];
    let i = 0;
    while (Array.isArray(v[i])) {
      parts.push(parseBody(v[i], childPart(part, i)));
      i++;
    }
    const node: BodyStructure = {
      part,
      type: "multipart",
      subtype: (nstring(v[i]) ?? "").toLowerCase(),
      params: parseParams(v[i + 1]),
      id: null,
      description: null,
      encoding: null,
      size: 0,
      parts,
    };
    if (v.length > i + 2) node.disposition = parseDisposition(v[i + 2]);
    if (v.length > i + 3) node.language = parseLanguage(v[i + 3]);
    if (v.length > i + 4) node.location = nstring(v[i + 4]);
    return node;
  }
  const type = (nstring(v[0]) ?? "").toLowerCase();
  const subtype = (nstring(v[1]) ?? "").toLowerCase();
  const node: BodyStructure = {
    part: part === "" ? "1" : part,
    type,
    subtype,
    params: parseParams(v[2]),
    id: nstring(v[3]),
    description: nstring(v[4]),
    encoding: nstring(v[5]),
    size: v[6] === null ? 0 : valueNumber(v[6]),
  };
  let next = 7;
  if (type === "message" && (subtype === "rfc822" || subtype === "global") && Array.isArray(v[8])) {
    node.envelope = parseEnvelope(v[7]);
    const inner = v[8];
    // The enclosed message's parts are numbered under this part (RFC 3501 6.4.5).
    node.parts = [parseBody(inner, Array.isArray(inner[0]) ? node.part : `${node.part}.1`)];
    node.lines = valueNumber(v[9]);
    next = 10;
  } else if (type === "text") {
    node.lines = valueNumber(v[7]);
    next = 8;
  }
  if (v.length > next) node.md5 = nstring(v[next]);
  if (v.length > next + 1) node.disposition = parseDisposition(v[next + 1]);
  if (v.length > next + 2) node.language = parseLanguage(v[next + 2]);
  if (v.length > next + 3) node.location = nstring(v[next + 3]);
  return node;
}

/** Parses a BODYSTRUCTURE (or BODY) list into a tree with section numbers. */
export function parseBodyStructure(value: ImapValue | undefined): BodyStructure {
  return parseBody(value, "");
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

/** Parses an INTERNALDATE ("17-Jul-1996 02:44:25 -0700"). */
export function parseInternalDate(text: string): Date {
  const m = /^\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  const month = m ? MONTHS.indexOf(m[2]!.toUpperCase()) : -1;
  if (!m || month < 0) throw new ImapSyntaxError(`Invalid date-time "${text}"`, 0);
  const offset = (m[7] === "-" ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  const utc = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  return new Date(utc - offset * 60_000);
}

/** Formats a date for APPEND (RFC 3501 date-time, in UTC). */
export function formatInternalDate(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const month = MONTHS[date.getUTCMonth()]!;
  return `${pad(date.getUTCDate())}-${month[0]}${month.slice(1).toLowerCase()}-${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

function isBytes(value: ImapValue | undefined): value is Uint8Array | StreamedLiteral | string | null {
  return value === null || typeof value === "string" || value instanceof Uint8Array ||
    (typeof value === "object" && value !== null && !Array.isArray(value));
}

const encoder = new TextEncoder();

/** Types the items of `* n FETCH (...)`. */
export function parseFetch(response: DataResponse): FetchRow {
  if (response.name !== "FETCH" || response.number === null) {
    throw new ImapSyntaxError(`Expected a FETCH response, got "${response.name}"`, 0);
  }
  const items = valueList(response.values[0]);
  const row: FetchRow = { seq: response.number, sections: new Map(), attributes: new Map() };
  for (let i = 0; i + 1 < items.length; i += 2) {
    const name = valueText(items[i])?.toUpperCase() ?? "";
    const value = items[i + 1] ?? null;
    row.attributes.set(name, value);
    switch (name) {
      case "UID":
        row.uid = valueNumber(value);
        break;
      case "FLAGS":
        row.flags = valueList(value).map((f) => valueText(f) ?? "");
        break;
      case "MODSEQ":
        row.modseq = valueBigInt(valueList(value)[0]);
        break;
      case "INTERNALDATE":
        row.internalDate = parseInternalDate(valueText(value) ?? "");
        break;
      case "RFC822.SIZE":
        row.size = valueNumber(value);
        break;
      case "ENVELOPE":
        row.envelope = parseEnvelope(value);
        break;
      case "BODYSTRUCTURE":
      case "BODY":
        row.bodyStructure = parseBodyStructure(value);
        break;
      default:
        if (/^(BODY|BINARY)\[|^RFC822(\.HEADER|\.TEXT)?$/.test(name) && isBytes(value)) {
          if (value instanceof Uint8Array) row.sections.set(name, value);
          else if (typeof value === "string") row.sections.set(name, encoder.encode(value));
          else if (value === null) row.sections.set(name, new Uint8Array(0));
        }
    }
  }
  return row;
}

/** Types `* LIST (flags) "delim" name`. */
export function parseList(response: DataResponse): MailboxInfo {
  const [flags, delimiter, name] = response.values;
  return {
    name: decodeMailboxName(valueText(name) ?? ""),
    delimiter: valueText(delimiter),
    flags: valueList(flags).map((f) => valueText(f) ?? ""),
  };
}

/** Types `* STATUS name (MESSAGES n ...)`; returns the decoded mailbox name with it. */
export function parseStatus(response: DataResponse): { mailbox: string; status: MailboxStatus } {
  const [name, list] = response.values;
  const items = valueList(list);
  const status: MailboxStatus = {};
  for (let i = 0; i + 1 < items.length; i += 2) {
    const key = valueText(items[i])?.toUpperCase();
    const value = items[i + 1];
    if (key === "MESSAGES") status.messages = valueNumber(value);
    else if (key === "RECENT") status.recent = valueNumber(value);
    else if (key === "UIDNEXT") status.uidNext = valueNumber(value);
    else if (key === "UIDVALIDITY") status.uidValidity = valueNumber(value);
    else if (key === "UNSEEN") status.unseen = valueNumber(value);
    else if (key === "HIGHESTMODSEQ") status.highestModSeq = valueBigInt(value);
  }
  return { mailbox: decodeMailboxName(valueText(name) ?? ""), status };
}

/** Typed `* ESEARCH (TAG "a1") UID ALL 1:3,7 COUNT 4` (RFC 4731). */
export interface EsearchResult {
  tag: string | null;
  uid: boolean;
  /** Return items by upper-cased name (ALL, MIN, MAX, COUNT, MODSEQ). */
  items: Map<string, string>;
}

/** Parses an ESEARCH response. */
export function parseEsearch(response: DataResponse): EsearchResult {
  const result: EsearchResult = { tag: null, uid: false, items: new Map() };
  let i = 0;
  const first = response.values[0];
  if (Array.isArray(first)) {
    if (valueText(first[0])?.toUpperCase() === "TAG") result.tag = valueText(first[1]);
    i = 1;
  }
  if (valueText(response.values[i] as string)?.toUpperCase() === "UID") {
    result.uid = true;
    i++;
  }
  for (; i + 1 < response.values.length; i += 2) {
    result.items.set(
      valueText(response.values[i])?.toUpperCase() ?? "",
      valueText(response.values[i + 1]) ?? "",
    );
  }
  return result;
}

/** Typed `* VANISHED (EARLIER) 1:5,9` (RFC 7162 section 3.2.10). */
export function parseVanished(response: DataResponse): { earlier: boolean; uids: string } {
  let earlier = false;
  let i = 0;
  const first = response.values[0];
  if (Array.isArray(first)) {
    earlier = first.some((v) => valueText(v)?.toUpperCase() === "EARLIER");
    i = 1;
  }
  return { earlier, uids: valueText(response.values[i]) ?? "" };
}

/**
 * Expands a sequence set ("1:3,7,9:8") to ascending numbers without duplicates.
 * `*` is replaced by `star` and rejected when that is not given; sets larger than
 * the limit are rejected so a hostile server cannot exhaust memory.
 */
export function expandSequenceSet(
  set: string,
  star?: number,
  limit: number = IMAP_LIMITS.maxExpandedSet,
): number[] {
  const trimmed = set.trim();
  if (trimmed === "") return [];
  const value = (text: string): number => {
    if (text === "*") {
      if (star === undefined) {
        throw new ImapSyntaxError(`Sequence set "${set}" uses "*" without a known maximum`, 0);
      }
      return star;
    }
    if (!/^\d+$/.test(text)) throw new ImapSyntaxError(`Invalid sequence set "${set}"`, 0);
    return Number(text);
  };
  const seen = new Set<number>();
  for (const range of trimmed.split(",")) {
    const [a, b] = range.split(":");
    const from = value(a ?? "");
    const to = b === undefined ? from : value(b);
    const [lo, hi] = from <= to ? [from, to] : [to, from];
    if (hi - lo + 1 + seen.size > limit) {
      throw new ImapSyntaxError(`Sequence set "${set.slice(0, 40)}" has more than ${limit} numbers`, 0);
    }
    for (let n = lo; n <= hi; n++) seen.add(n);
  }
  return [...seen].sort((x, y) => x - y);
}

/** Compresses numbers to a sequence set ("1:3,7"); the inverse of {@link expandSequenceSet}. */
export function compressSequenceSet(numbers: Iterable<number>): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push(i === j ? `${sorted[i]}` : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return ranges.join(",");
}
