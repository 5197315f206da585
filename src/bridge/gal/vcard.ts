/**
 * Just enough vCard (RFC 6350, and 3.0 as Radicale stores it) to fill a GAL
 * entry: FN, N, NICKNAME, EMAIL, TEL, ORG, TITLE, ROLE-less OFFICE from
 * X-OFFICE or ADR;TYPE=work, PHOTO and KEY.
 *
 * @module
 */

import type { GalEntry } from "../../eas/commands/search.ts";

interface Property {
  name: string;
  params: Map<string, string>;
  value: string;
}

/** Unfolds and splits a vCard into properties (RFC 6350 3.2 line folding). */
export function parseVcardProperties(text: string): Property[] {
  const lines = text.replace(/\r?\n[ \t]/g, "").split(/\r?\n/);
  const out: Property[] = [];
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const [rawName, ...rawParams] = line.slice(0, colon).split(";");
    const name = (rawName ?? "").replace(/^[^.]*\./, "").toUpperCase();
    const params = new Map<string, string>();
    for (const param of rawParams) {
      const eq = param.indexOf("=");
      const key = (eq < 0 ? "TYPE" : param.slice(0, eq)).toUpperCase();
      const value = (eq < 0 ? param : param.slice(eq + 1)).replace(/^"|"$/g, "").toLowerCase();
      params.set(key, params.has(key) ? `${params.get(key)},${value}` : value);
    }
    out.push({ name, params, value: line.slice(colon + 1) });
  }
  return out;
}

function unescapeText(value: string): string {
  return value.replace(/\\([nN,;\\])/g, (_, c: string) => (c === "n" || c === "N" ? "\n" : c));
}

function types(property: Property): string[] {
  return (property.params.get("TYPE") ?? "").split(",").filter(Boolean);
}

function binary(property: Property): Uint8Array | undefined {
  let value = property.value;
  const dataUri = /^data:[^,]*;base64,(.*)$/i.exec(value);
  if (dataUri) value = dataUri[1]!;
  else if (property.params.get("ENCODING") !== "b" && property.params.get("ENCODING") !== "base64") {
    return undefined;
  }
  try {
    return Uint8Array.from(atob(value.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** A GAL entry from one vCard, or undefined when it has no email address. */
export function galEntryOfVcard(text: string): GalEntry | undefined {
  const props = parseVcardProperties(text);
  const first = (name: string) => props.find((p) => p.name === name);
  const emails = props.filter((p) => p.name === "EMAIL").sort((a, b) =>
    Number(types(b).includes("pref") || b.params.has("PREF")) -
    Number(types(a).includes("pref") || a.params.has("PREF"))
  ).map((p) => unescapeText(p.value).trim()).filter(Boolean);
  if (emails.length === 0) return undefined;
  const [last, given] = (first("N")?.value ?? "").split(";").map(unescapeText);
  const fn = unescapeText(first("FN")?.value ?? "").trim();
  const entry: GalEntry = {
    displayName: fn || [given, last].filter(Boolean).join(" ") || emails[0]!,
    email: emails[0]!,
  };
  if (emails.length > 1) entry.aliases = emails.slice(1);
  if (given) entry.firstName = given;
  if (last) entry.lastName = last;
  const nickname = first("NICKNAME")?.value;
  if (nickname) entry.alias = unescapeText(nickname);
  const org = first("ORG")?.value;
  if (org) entry.company = unescapeText(org.split(";")[0] ?? "");
  const title = first("TITLE")?.value;
  if (title) entry.title = unescapeText(title);
  const office = first("X-OFFICE")?.value;
  if (office) entry.office = unescapeText(office);
  for (const tel of props.filter((p) => p.name === "TEL")) {
    const kind = types(tel);
    const number = tel.value.replace(/^tel:/i, "");
    if (kind.includes("cell")) entry.mobilePhone ??= number;
    else if (kind.includes("home")) entry.homePhone ??= number;
    else entry.phone ??= number;
  }
  const photo = first("PHOTO");
  const picture = photo && binary(photo);
  if (picture) entry.picture = picture;
  const keys = props.filter((p) => p.name === "KEY").map(binary).filter((k): k is Uint8Array => !!k);
  if (keys.length) entry.certificates = keys;
  return entry;
}
