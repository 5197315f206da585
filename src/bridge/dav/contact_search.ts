/**
 * Search of the user's own CardDAV address books (ResolveRecipients type 2,
 * MS-ASCMD 2.2.3.186.2): an addressbook-query REPORT (RFC 6352 8.6) on each
 * address book under the user's addressbook-home-set, text-match "contains"
 * on FN, EMAIL and N (anyof), read with the vCard mapping of the contacts
 * folders. Matches are checked again here, case-insensitively, because
 * servers differ in collations (RFC 6352 8.3) and some ignore parts of a
 * filter; a server that cannot filter on N (Radicale 3.1 fails on the
 * structured N value with a 500) is asked again with FN and EMAIL only.
 */
import { BackendUnavailableError } from "../../backend/types.ts";
import { escapeXml, kid, NS } from "./_xml.ts";
import { type DavClient, type DavHomes, propKey } from "./dav_client.ts";
import { contactFromVcard } from "./vcard_map.ts";

/** One address of a matching contact. */
export interface ContactMatch {
  displayName: string;
  email: string;
  /** The vCard resource the address comes from. */
  href: string;
}

/** How many matches a search answers at most when no limit is given. */
export const CONTACT_SEARCH_LIMIT = 100;

/** Where and how much to search. */
export interface ContactSearchOptions {
  /** Most matches answered (addresses, not cards). */
  limit?: number;
  /** The user's home sets, when already discovered (saves the discovery round trips). */
  homes?: DavHomes;
}

const FILTER_PROPERTIES = ["FN", "EMAIL", "N"] as const;

/**
 * Contacts of the user whose name or address contains `query`
 * (case-insensitive): one match per address, in address book order. A
 * contact whose name matches gives all its addresses; one matched only by an
 * address gives that address. Contacts without an address are skipped
 * (they cannot be recipients).
 */
export async function searchContacts(
  client: DavClient,
  query: string,
  options: ContactSearchOptions = {},
): Promise<ContactMatch[]> {
  const needle = query.trim().toLowerCase();
  if (!needle) return [];
  const limit = options.limit ?? CONTACT_SEARCH_LIMIT;
  const homes = options.homes ?? await client.discover();
  const out: ContactMatch[] = [];
  for (const book of await addressBooks(client, homes)) {
    for (const { href, vcard } of await queryBook(client, book, needle)) {
      out.push(...matchesOf(href, vcard, needle));
      if (out.length >= limit) return out.slice(0, limit);
    }
  }
  return out;
}

async function addressBooks(client: DavClient, homes: DavHomes): Promise<string[]> {
  const books: string[] = [];
  for (const home of homes.addressbookHomes) {
    for (const r of await client.propfind(home, [[NS.DAV, "resourcetype"]], 1)) {
      if (
        kid(r.props.get(propKey(NS.DAV, "resourcetype")), NS.CARDDAV, "addressbook") &&
        !books.includes(r.href)
      ) {
        books.push(r.href);
      }
    }
  }
  return books;
}

async function queryBook(
  client: DavClient,
  book: string,
  needle: string,
): Promise<{ href: string; vcard: string }[]> {
  let responses;
  try {
    responses = await client.report(book, addressbookQuery(needle, FILTER_PROPERTIES));
  } catch (error) {
    if (!(error instanceof BackendUnavailableError)) throw error;
    responses = await client.report(book, addressbookQuery(needle, ["FN", "EMAIL"]));
  }
  return responses.flatMap((r) => {
    const vcard = r.props.get(propKey(NS.CARDDAV, "address-data"))?.text;
    return r.status < 300 && vcard ? [{ href: r.href, vcard }] : [];
  });
}

/** The addressbook-query REPORT body (RFC 6352 8.6, 10.5): any of the properties contains the text. */
export function addressbookQuery(needle: string, properties: readonly string[]): string {
  const filters = properties.map((name) =>
    `<c:prop-filter name="${name}"><c:text-match collation="i;unicode-casemap" match-type="contains">${
      escapeXml(needle)
    }</c:text-match></c:prop-filter>`
  ).join("");
  return `<?xml version="1.0" encoding="utf-8"?><c:addressbook-query xmlns:d="DAV:" xmlns:c="${NS.CARDDAV}"><d:prop><d:getetag/><c:address-data/></d:prop><c:filter test="anyof">${filters}</c:filter></c:addressbook-query>`;
}

/** The addresses of one vCard that the query selects (see searchContacts); unreadable cards give none. */
export function matchesOf(href: string, vcard: string, needle: string): ContactMatch[] {
  let contact;
  try {
    contact = contactFromVcard(vcard, [], { picture: false }).contact;
  } catch {
    return [];
  }
  const emails = [contact.email1Address, contact.email2Address, contact.email3Address]
    .map((e) => e?.replace(/^mailto:/i, "").trim())
    .filter((e): e is string => !!e && e.includes("@"));
  const composed = [contact.firstName, contact.middleName, contact.lastName].filter((s) => s).join(" ");
  const displayName = contact.fileAs || composed || emails[0] || "";
  const names = [displayName, composed, contact.firstName, contact.lastName, contact.nickName]
    .filter((s): s is string => !!s);
  const nameMatches = names.some((n) => n.toLowerCase().includes(needle));
  return emails
    .filter((email) => nameMatches || email.toLowerCase().includes(needle))
    .map((email) => ({ displayName, email, href }));
}
