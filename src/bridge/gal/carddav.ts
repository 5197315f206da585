/**
 * GAL from a shared CardDAV address book: one addressbook-query REPORT
 * (RFC 6352 8.6) returns every vCard of the collection.
 *
 * @module
 */

import type { Credentials } from "../../backend/types.ts";
import { BackendUnavailableError } from "../../backend/types.ts";
import type { GalEntry } from "../../eas/commands/search.ts";
import { galEntryOfVcard } from "./vcard.ts";

const QUERY = `<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:getetag/><C:address-data/></D:prop>
</C:addressbook-query>`;

/** Largest directory response read (5,000 vCards with small photos fit). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/**
 * Loads the address book at `url` with `credentials` (an account that may
 * read the shared book). `caCerts` (PEM) are trusted for an https:// server
 * with a private CA, through an HTTP client made for the one load.
 */
export function cardDavLoader(
  url: URL,
  credentials: () => Credentials,
  options: { client?: Deno.HttpClient; caCerts?: string[] } = {},
) {
  return async (): Promise<GalEntry[]> => {
    if (options.client || !options.caCerts || url.protocol !== "https:") {
      return await load(url, credentials(), options.client);
    }
    const client = Deno.createHttpClient({ caCerts: options.caCerts });
    try {
      return await load(url, credentials(), client);
    } finally {
      client.close();
    }
  };
}

async function load(
  url: URL,
  { user, password }: Credentials,
  client?: Deno.HttpClient,
): Promise<GalEntry[]> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "REPORT",
      headers: {
        "Content-Type": "application/xml; charset=utf-8",
        Depth: "1",
        Authorization: "Basic " +
          btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${password}`))),
      },
      body: QUERY,
      ...(client ? { client } : {}),
    } as RequestInit);
  } catch (error) {
    throw new BackendUnavailableError(`CardDAV server '${url.origin}' is unreachable`, error);
  }
  if (response.status !== 207) {
    await response.body?.cancel();
    throw new BackendUnavailableError(`CardDAV address book '${url.href}' answered ${response.status}`);
  }
  const length = Number(response.headers.get("Content-Length") ?? "0");
  if (length > MAX_RESPONSE_BYTES) {
    await response.body?.cancel();
    throw new BackendUnavailableError(
      `CardDAV address book '${url.href}' is larger than ${MAX_RESPONSE_BYTES} bytes`,
    );
  }
  return galEntriesOfMultistatus(await response.text());
}

/** The entries of every address-data element of a multistatus body. */
export function galEntriesOfMultistatus(xml: string): GalEntry[] {
  const out: GalEntry[] = [];
  const pattern = /<(?:[\w-]+:)?address-data[^>]*>([\s\S]*?)<\/(?:[\w-]+:)?address-data>/g;
  for (const match of xml.matchAll(pattern)) {
    const text = unescapeXml(match[1]!.replace(/^<!\[CDATA\[|\]\]>$/g, ""));
    for (const card of text.split(/(?=BEGIN:VCARD)/i)) {
      const entry = galEntryOfVcard(card);
      if (entry) out.push(entry);
    }
  }
  return out;
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, e: string) => {
    const named: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
    if (e[0] !== "#") return named[e.toLowerCase()] ?? "";
    return String.fromCodePoint(
      e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10),
    );
  });
}
