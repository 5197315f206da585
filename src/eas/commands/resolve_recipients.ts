import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../wbxml/tree.ts";
import { COMMON_STATUS } from "../protocol/status.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";
import { parseEasDate } from "../model/streamer.ts";
import { atLeast } from "../protocol/versions.ts";
import { fitGalPictures, type GalEntry, pictureElement, pictureOptions } from "./search.ts";

/** ResolveRecipients statuses (MS-ASCMD 2.2.3.177.12; Response level 1-4, Certificates 1, 7, 8). */
export const RESOLVE_STATUS = {
  Success: 1,
  Ambiguous: 2,
  AmbiguousPartial: 3,
  NotResolved: 4,
  ProtocolError: 5,
  ServerError: 6,
  NoValidCertificate: 7,
  CertificateLimit: 8,
} as const;

/** Recipient Type (MS-ASCMD 2.2.3.186.2): 1 from the GAL, 2 from the user's contacts. */
export const RECIPIENT_TYPE = { Gal: 1, Contact: 2 } as const;

/** Why there is no free/busy for an address: it may not be read (163), or the server failed (162). */
export type AvailabilityFailure = "unreadable" | "transient";

/** Free/busy of one address: the MergedFreeBusy digits (MS-ASCMD 2.2.3.107), or why there are none. */
export type AvailabilityResult = { merged: string } | { failure: AvailabilityFailure };

/** Where Availability comes from (CalDAV free/busy with the user's credentials). */
export interface AvailabilityLookup {
  /** MergedFreeBusy of `address` over [start, end), one digit per 30 minutes. */
  freeBusy(address: string, start: Date, end: Date): Promise<AvailabilityResult>;
}

/** One address of the user's own contacts. */
export interface ContactCandidate {
  displayName: string;
  email: string;
}

/** The user's own contacts (their CardDAV address books). */
export interface ContactLookup {
  /** Addresses of contacts whose name or address contains `query` (case-insensitive). */
  search(query: string, limit: number): Promise<ContactCandidate[]>;
}

const NS = "ResolveRecipients";
/** Default MaxAmbiguousRecipients (MS-ASCMD 2.2.3.100.1 allows 0-9999; Exchange uses 19). */
const DEFAULT_MAX_AMBIGUOUS = 19;
/** Most To elements per request (MS-ASCMD 2.2.3.181.1: up to 100). */
const MAX_TO = 100;
/** Availability window limits (MS-ASCMD 2.2.3.61.1): EndTime defaults to StartTime + 7 days, spans 30 min to 42 days. */
export const AVAILABILITY_LIMITS = {
  defaultSpanMs: 7 * 86_400_000,
  minSpanMs: 30 * 60_000,
  maxSpanMs: 42 * 86_400_000,
} as const;

/** A recipient candidate with where it came from (MS-ASCMD 2.2.3.186.2). */
interface Candidate extends GalEntry {
  type: typeof RECIPIENT_TYPE[keyof typeof RECIPIENT_TYPE];
}

/**
 * ResolveRecipients (MS-ASCMD 2.2.1.15) against the GAL (Type 1) and the
 * user's own contacts (Type 2): an exact address or a single match
 * resolves, several matches are ambiguous (status 2, or 3 when cut at
 * MaxAmbiguousRecipients), none is unresolved (4). An address found in both
 * is listed once, from the GAL (which carries certificates). Certificates
 * come from the directory when it holds them. Availability (14.0+) is the
 * free/busy of each listed recipient from CalDAV; where it cannot be read
 * (another user's calendar on a server with owner-only rights) the
 * recipient's Availability Status is 163, never invented free time.
 */
export async function resolveRecipients(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  const body = request.body;
  const recipients = childrenNamed(body, "To", NS).map((t) => (t.text ?? "").trim());
  const protocolError = {
    body: el(NS, "ResolveRecipients", textEl(NS, "Status", RESOLVE_STATUS.ProtocolError)),
  };
  if (body?.name !== "ResolveRecipients" || recipients.length === 0 || recipients.length > MAX_TO) {
    return protocolError;
  }
  const options = child(body, "Options", NS);
  const maxAmbiguous = Number(childText(options, "MaxAmbiguousRecipients", NS) ?? DEFAULT_MAX_AMBIGUOUS);
  const certificateRetrieval = Number(childText(options, "CertificateRetrieval", NS) ?? "1");
  const maxCertificates = Number(childText(options, "MaxCertificates", NS) ?? "9999");
  const availabilityRequest = child(options, "Availability", NS);
  let window: { start: Date; end: Date } | undefined;
  if (availabilityRequest && atLeast(ctx.protocolVersion, "14.0")) {
    window = availabilityWindow(availabilityRequest);
    if (!window) return protocolError;
  }
  // Options/Picture (MS-ASCMD 2.2.3.135.2, 14.1+); a photo above MaxSize is resized to fit where it can.
  const pictures = atLeast(ctx.protocolVersion, "14.1") ? pictureOptions(options, NS) : undefined;
  const freeBusy = new Map<string, Promise<WbxmlElement>>();
  const availabilityOf = (email: string): Promise<WbxmlElement> | undefined => {
    if (!window) return undefined;
    const key = email.toLowerCase();
    if (!freeBusy.has(key)) freeBusy.set(key, availability(ctx, key, window));
    return freeBusy.get(key);
  };
  const responses: WbxmlElement[] = [];
  for (const to of recipients) {
    const matches = await find(ctx, to, Math.max(1, maxAmbiguous) + 1);
    let status: number = RESOLVE_STATUS.Success;
    if (matches.length === 0) status = RESOLVE_STATUS.NotResolved;
    else if (matches.length > 1) {
      status = matches.length > maxAmbiguous ? RESOLVE_STATUS.AmbiguousPartial : RESOLVE_STATUS.Ambiguous;
    }
    const listed = await fitGalPictures(
      matches.slice(0, status === RESOLVE_STATUS.Success ? 1 : Math.max(0, maxAmbiguous)),
      pictures,
      ctx.gal,
    );
    // MaxPictures counts per To: three recipients with MaxPictures 3 may get 9 photos (MS-ASCMD 2.2.3.104.2).
    const sent = { count: 0 };
    const recipientElements: WbxmlElement[] = [];
    for (const entry of listed) {
      recipientElements.push(
        recipient(
          entry,
          { certificateRetrieval, maxCertificates },
          await availabilityOf(entry.email),
          pictures && pictureElement(entry.picture, pictures, sent, NS),
        ),
      );
    }
    responses.push(el(
      NS,
      "Response",
      textEl(NS, "To", to.slice(0, 256)),
      textEl(NS, "Status", status),
      textEl(NS, "RecipientCount", listed.length),
      ...recipientElements,
    ));
  }
  return { body: el(NS, "ResolveRecipients", textEl(NS, "Status", RESOLVE_STATUS.Success), ...responses) };
}

/** StartTime/EndTime of Options/Availability, or undefined when they break MS-ASCMD 2.2.3.176.1 / 2.2.3.61.1. */
function availabilityWindow(request: WbxmlElement): { start: Date; end: Date } | undefined {
  const start = parseEasDate(childText(request, "StartTime", NS) ?? "");
  if (!start) return undefined;
  const endText = childText(request, "EndTime", NS);
  const end = endText === undefined
    ? new Date(start.getTime() + AVAILABILITY_LIMITS.defaultSpanMs)
    : parseEasDate(endText);
  if (!end) return undefined;
  const span = end.getTime() - start.getTime();
  if (span < AVAILABILITY_LIMITS.minSpanMs || span > AVAILABILITY_LIMITS.maxSpanMs) return undefined;
  return { start, end };
}

async function availability(
  ctx: CommandContext,
  email: string,
  window: { start: Date; end: Date },
): Promise<WbxmlElement> {
  const failure = (status: number) => el(NS, "Availability", textEl(NS, "Status", status));
  if (!ctx.availability) return failure(COMMON_STATUS.AvailabilityFailure);
  const result = await ctx.availability.freeBusy(email, window.start, window.end);
  if ("failure" in result) {
    return failure(
      result.failure === "transient"
        ? COMMON_STATUS.AvailabilityTransientFailure
        : COMMON_STATUS.AvailabilityFailure,
    );
  }
  return el(
    NS,
    "Availability",
    textEl(NS, "Status", RESOLVE_STATUS.Success),
    textEl(NS, "MergedFreeBusy", result.merged),
  );
}

async function find(ctx: CommandContext, to: string, limit: number): Promise<Candidate[]> {
  if (!to) return [];
  const address = /<([^<>@\s]+@[^<>\s]+)>/.exec(to)?.[1] ?? (to.includes("@") ? to : undefined);
  const gal: GalEntry[] = [];
  if (ctx.gal) {
    if (address) {
      const exact = await ctx.gal.lookup(address);
      if (exact) gal.push(exact);
    } else gal.push(...await ctx.gal.search(to, limit));
  }
  let contacts: ContactCandidate[] = [];
  if (ctx.contacts) {
    try {
      contacts = await ctx.contacts.search(address ?? to, limit);
    } catch (error) {
      // The user's address books are an addition to the GAL: their failure leaves the GAL's answer standing.
      ctx.log?.warn("resolve_recipients.contacts_failed", { error: (error as Error).message });
    }
    if (address) contacts = contacts.filter((c) => c.email.toLowerCase() === address.toLowerCase());
  }
  const out: Candidate[] = gal.map((entry) => ({ ...entry, type: RECIPIENT_TYPE.Gal }));
  const known = new Set(gal.flatMap((g) => [g.email, ...(g.aliases ?? [])]).map((e) => e.toLowerCase()));
  for (const c of contacts) {
    if (known.has(c.email.toLowerCase())) continue;
    known.add(c.email.toLowerCase());
    out.push({ displayName: c.displayName, email: c.email, type: RECIPIENT_TYPE.Contact });
  }
  return out.slice(0, limit);
}

function recipient(
  entry: Candidate,
  options: { certificateRetrieval: number; maxCertificates: number },
  availability: WbxmlElement | undefined,
  picture: WbxmlElement | undefined,
): WbxmlElement {
  let certificates: WbxmlElement | undefined;
  // CertificateRetrieval 1 = none, 2 = full certificates, 3 = mini certificates (MS-ASCMD 2.2.3.25).
  if (options.certificateRetrieval === 2 || options.certificateRetrieval === 3) {
    const certs = (entry.certificates ?? []).slice(0, Math.max(0, options.maxCertificates));
    certificates = certs.length
      ? el(
        NS,
        "Certificates",
        textEl(NS, "Status", RESOLVE_STATUS.Success),
        textEl(NS, "CertificateCount", certs.length),
        textEl(NS, "RecipientCount", 1),
        ...(options.certificateRetrieval === 2
          ? certs.map((c) => textEl(NS, "Certificate", base64(c)))
          : [textEl(NS, "MiniCertificate", base64(certs[0]!))]),
      )
      : el(
        NS,
        "Certificates",
        textEl(NS, "Status", RESOLVE_STATUS.NoValidCertificate),
        textEl(NS, "CertificateCount", 0),
      );
  }
  return el(
    NS,
    "Recipient",
    textEl(NS, "Type", entry.type),
    textEl(NS, "DisplayName", entry.displayName),
    textEl(NS, "EmailAddress", entry.email),
    availability,
    certificates,
    picture,
  );
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
