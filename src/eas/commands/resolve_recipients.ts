import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../wbxml/tree.ts";
import { COMMON_STATUS } from "../protocol/status.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";
import type { GalEntry } from "./search.ts";

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

const NS = "ResolveRecipients";
/** Default MaxAmbiguousRecipients (MS-ASCMD 2.2.3.100.1 allows 0-9999; Exchange uses 19). */
const DEFAULT_MAX_AMBIGUOUS = 19;
/** Most To elements per request (MS-ASCMD 2.2.3.181.1: up to 100). */
const MAX_TO = 100;

/**
 * ResolveRecipients (MS-ASCMD 2.2.1.15) against the GAL: an exact address or
 * a single match resolves, several matches are ambiguous (status 2, or 3 when
 * cut at MaxAmbiguousRecipients), none is unresolved (4). Certificates come
 * from the directory when it holds them. Availability needs a free/busy
 * source the box does not have yet: answered with status 163 (Availability
 * failure) rather than invented free time.
 */
export async function resolveRecipients(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  const body = request.body;
  const recipients = childrenNamed(body, "To", NS).map((t) => (t.text ?? "").trim());
  if (body?.name !== "ResolveRecipients" || recipients.length === 0 || recipients.length > MAX_TO) {
    return { body: el(NS, "ResolveRecipients", textEl(NS, "Status", RESOLVE_STATUS.ProtocolError)) };
  }
  const options = child(body, "Options", NS);
  const maxAmbiguous = Number(childText(options, "MaxAmbiguousRecipients", NS) ?? DEFAULT_MAX_AMBIGUOUS);
  const certificateRetrieval = Number(childText(options, "CertificateRetrieval", NS) ?? "1");
  const maxCertificates = Number(childText(options, "MaxCertificates", NS) ?? "9999");
  const availability = child(options, "Availability", NS) !== undefined;
  const responses: WbxmlElement[] = [];
  for (const to of recipients) {
    const matches = await find(ctx, to, Math.max(1, maxAmbiguous) + 1);
    let status: number = RESOLVE_STATUS.Success;
    if (matches.length === 0) status = RESOLVE_STATUS.NotResolved;
    else if (matches.length > 1) {
      status = matches.length > maxAmbiguous ? RESOLVE_STATUS.AmbiguousPartial : RESOLVE_STATUS.Ambiguous;
    }
    const listed = matches.slice(0, status === RESOLVE_STATUS.Success ? 1 : Math.max(0, maxAmbiguous));
    responses.push(el(
      NS,
      "Response",
      textEl(NS, "To", to.slice(0, 256)),
      textEl(NS, "Status", status),
      textEl(NS, "RecipientCount", listed.length),
      ...listed.map((entry) => recipient(entry, { certificateRetrieval, maxCertificates, availability })),
    ));
  }
  return { body: el(NS, "ResolveRecipients", textEl(NS, "Status", RESOLVE_STATUS.Success), ...responses) };
}

async function find(ctx: CommandContext, to: string, limit: number): Promise<GalEntry[]> {
  if (!ctx.gal || !to) return [];
  const address = /<([^<>@\s]+@[^<>\s]+)>/.exec(to)?.[1] ?? (to.includes("@") ? to : undefined);
  if (address) {
    const exact = await ctx.gal.lookup(address);
    return exact ? [exact] : [];
  }
  return await ctx.gal.search(to, limit);
}

function recipient(
  entry: GalEntry,
  options: { certificateRetrieval: number; maxCertificates: number; availability: boolean },
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
    textEl(NS, "Type", RECIPIENT_TYPE.Gal),
    textEl(NS, "DisplayName", entry.displayName),
    textEl(NS, "EmailAddress", entry.email),
    options.availability
      ? el(NS, "Availability", textEl(NS, "Status", COMMON_STATUS.AvailabilityFailure))
      : undefined,
    certificates,
  );
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
