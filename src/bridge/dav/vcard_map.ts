/**
 * vCard 3.0 (RFC 2426) and 4.0 (RFC 6350) <-> EAS contact (MS-ASCNTC).
 * Reading remembers which property filled each EAS field (the first work
 * phone, the second email...), so writing changes exactly those properties
 * and keeps their parameters, groups and everything the phone never saw
 * (a fourth email, X- properties, KEY, GEO...). A field the phone drops that
 * we had sent it is removed; one the phone never had is kept.
 */
import type { BodyPreference } from "../../backend/mail.ts";
import { BackendUnavailableError } from "../../backend/types.ts";
import type { Contact } from "../../eas/model/contacts.ts";
import { fitPhoto, type PhotoFit } from "../../image/resize_photo.ts";
import { fitPhotoOffThread } from "../../image/fit_photo_off_thread.ts";
import { CONTACT_PICTURE_MAX_BYTES } from "../../image/limits.ts";
import { bodyOf, textOfBody } from "./_body.ts";
import {
  type Component,
  escapeText,
  param,
  parseComponents,
  prop,
  type Property,
  property,
  props,
  serialize,
  splitValue,
  text,
} from "./ical.ts";

/** What reading a vCard gives: the contact and the property behind each field. */
export interface ContactRead {
  contact: Contact;
  sources: Map<keyof Contact, Property>;
  /** Why the card's PHOTO was left out (undecodable, cannot be made small enough), for the log. */
  photoLeftOut?: string;
}

/** A vCard that cannot be read. */
export class ContactMappingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContactMappingError";
  }
}

const typesOf = (p: Property): string[] =>
  (p.params.TYPE ?? []).flatMap((t) => t.split(",")).map((t) => t.trim().toLowerCase());

/** TEL slots in the order they are filled: field, TYPE values that match, TYPE written for a new one. */
export const TEL_SLOTS: readonly {
  field: keyof Contact;
  match: (t: string[]) => boolean;
  types: string[];
}[] = [
  { field: "mobilePhoneNumber", match: (t) => t.includes("cell"), types: ["CELL"] },
  {
    field: "businessFaxNumber",
    match: (t) => t.includes("fax") && t.includes("work"),
    types: ["WORK", "FAX"],
  },
  { field: "homeFaxNumber", match: (t) => t.includes("fax") && !t.includes("work"), types: ["HOME", "FAX"] },
  { field: "pagerNumber", match: (t) => t.includes("pager"), types: ["PAGER"] },
  { field: "carPhoneNumber", match: (t) => t.includes("car"), types: ["CAR"] },
  { field: "radioPhoneNumber", match: (t) => t.includes("x-radio"), types: ["X-RADIO"] },
  { field: "mms", match: (t) => t.includes("x-mms"), types: ["X-MMS"] },
  { field: "assistantPhoneNumber", match: (t) => t.includes("x-assistant"), types: ["X-ASSISTANT"] },
  {
    field: "companyMainPhone",
    match: (t) => t.includes("x-company") || t.includes("main"),
    types: ["X-COMPANY"],
  },
  { field: "businessPhoneNumber", match: (t) => t.includes("work"), types: ["WORK", "VOICE"] },
  { field: "business2PhoneNumber", match: (t) => t.includes("work"), types: ["WORK", "VOICE"] },
  {
    field: "homePhoneNumber",
    match: (t) => t.includes("home") || t.length === 0 || t.includes("voice"),
    types: ["HOME", "VOICE"],
  },
  {
    field: "home2PhoneNumber",
    match: (t) => t.includes("home") || t.length === 0 || t.includes("voice"),
    types: ["HOME", "VOICE"],
  },
];

/** ADR kinds: EAS field prefix and the TYPE that selects it (other = neither work nor home). */
const ADR_KINDS = [
  { prefix: "business", match: (t: string[]) => t.includes("work"), types: ["WORK"] },
  { prefix: "home", match: (t: string[]) => t.includes("home"), types: ["HOME"] },
  { prefix: "other", match: (t: string[]) => !t.includes("work") && !t.includes("home"), types: ["OTHER"] },
] as const;

/** ADR components (RFC 6350 6.3.1) after street, as EAS fields. */
const ADR_PARTS = [
  [3, "AddressCity"],
  [4, "AddressState"],
  [5, "AddressPostalCode"],
  [6, "AddressCountry"],
] as const;

/** Single-valued properties mapped one to one (vCard name, field; X- names of 3.0 and common clients). */
export const SIMPLE_PROPERTIES: readonly { field: keyof Contact; names: string[] }[] = [
  { field: "fileAs", names: ["FN", "X-FILEAS"] },
  { field: "nickName", names: ["NICKNAME"] },
  { field: "jobTitle", names: ["TITLE"] },
  { field: "officeLocation", names: ["X-MS-OFFICELOCATION", "X-OFFICE"] },
  { field: "webPage", names: ["URL"] },
  { field: "spouse", names: ["X-SPOUSE", "X-MS-SPOUSE", "X-EVOLUTION-SPOUSE"] },
  { field: "assistantName", names: ["X-ASSISTANT", "X-MS-ASSISTANT", "X-EVOLUTION-ASSISTANT"] },
  { field: "managerName", names: ["X-MANAGER", "X-MS-MANAGER", "X-EVOLUTION-MANAGER"] },
  { field: "yomiFirstName", names: ["X-PHONETIC-FIRST-NAME"] },
  { field: "yomiLastName", names: ["X-PHONETIC-LAST-NAME"] },
  { field: "yomiCompanyName", names: ["X-PHONETIC-ORG"] },
  { field: "customerId", names: ["X-MS-CUSTOMERID"] },
  { field: "governmentId", names: ["X-MS-GOVERNMENTID"] },
  { field: "accountName", names: ["X-MS-ACCOUNTNAME"] },
  { field: "alias", names: ["X-MS-ALIAS"] },
];

const IM_FIELDS = ["imAddress", "imAddress2", "imAddress3"] as const;
const EMAIL_FIELDS = ["email1Address", "email2Address", "email3Address"] as const;

function dateOf(value: string): Date | undefined {
  const m = /^(\d{4}|--)-?(\d{2})-?(\d{2})/.exec(value.trim());
  if (!m || m[1] === "--") return undefined;
  // EAS clients expect birthdays at 00:00 UTC... or noon; noon keeps the date in every zone within ±11h.
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function formatDateValue(date: Date, version: string): string {
  // The phone sends its local midnight in UTC: 13:00-23:59 is the next day east of UTC, up to 12:00 the same day west.
  const rounded = new Date(date.getTime() + (date.getUTCHours() > 12 ? 86_400_000 : 0));
  const iso = rounded.toISOString().slice(0, 10);
  return version.startsWith("4") ? iso.replace(/-/g, "") : iso;
}

/**
 * Reads a vCard into an EAS contact. `picture: false` skips the PHOTO (a
 * name or address lookup has no use for it, and fitting a large one to the
 * phone's limit costs a decode). A large PHOTO is resized on this thread,
 * which takes seconds: a server uses contactFromVcardAsync().
 */
export function contactFromVcard(
  vcf: string,
  bodyPreferences: readonly BodyPreference[] = [],
  options: { picture?: boolean } = {},
): ContactRead {
  const card = cardOf(vcf);
  return readCard(card, bodyPreferences, options.picture ?? true, fitContactPhoto);
}

/**
 * contactFromVcard() with a large PHOTO resized in the photo worker, so the
 * event loop keeps answering other requests meanwhile. A photo the worker
 * cannot fit in time is left out (`photoLeftOut` says why).
 */
export async function contactFromVcardAsync(
  vcf: string,
  bodyPreferences: readonly BodyPreference[] = [],
  options: { picture?: boolean } = {},
): Promise<ContactRead> {
  const card = cardOf(vcf);
  const withPicture = options.picture ?? true;
  const fitted = withPicture ? await fitCardPhotoOffThread(card) : undefined;
  return readCard(card, bodyPreferences, withPicture, () => fitted ?? NOT_FITTED);
}

function cardOf(vcf: string): Component {
  const card = parseComponents(vcf).find((c) => c.name === "VCARD");
  if (!card) throw new ContactMappingError("No VCARD component");
  return card;
}

/** A card's photo as the phone may get it (base64), or why it is left out (`transient`: see PhotoFit). */
type PictureFit = { ok: true; base64: string } | { ok: false; reason: string; transient?: true };

const NOT_FITTED: PictureFit = { ok: false, reason: "PHOTO was not prepared" };

/** The inline data (base64, unfolded) of a PHOTO property; undefined for a URI. */
function photoBase64(photo: Property): string | undefined {
  const encoding = param(photo, "ENCODING")?.toLowerCase();
  const data = /^data:[^,]*;base64,(.*)$/s.exec(photo.value)?.[1] ??
    (encoding === "b" || encoding === "base64" ? photo.value : undefined);
  return data?.replace(/\s/g, "");
}

function readCard(
  card: Component,
  prefs: readonly BodyPreference[],
  withPicture: boolean,
  fit: (base64: string) => PictureFit,
): ContactRead {
  const contact: Contact = {};
  const sources = new Map<keyof Contact, Property>();
  const set = (field: keyof Contact, value: string | undefined, source: Property) => {
    if (value === undefined || value === "") return;
    (contact as Record<string, unknown>)[field] = value;
    sources.set(field, source);
  };
  const n = prop(card, "N");
  if (n) {
    const [last, first, middle, prefix, suffix] = splitValue(n.value, ";");
    set("lastName", last, n);
    set("firstName", first, n);
    set("middleName", middle, n);
    set("title", prefix, n);
    set("suffix", suffix, n);
  }
  const org = prop(card, "ORG");
  if (org) {
    const [company, department] = splitValue(org.value, ";");
    set("companyName", company, org);
    set("department", department, org);
  }
  for (const { field, names } of SIMPLE_PROPERTIES) {
    const p = names.map((n) => prop(card, n)).find((x) => x);
    if (p) set(field, text(card, p.name), p);
  }
  for (const rel of props(card, "RELATED")) {
    const t = typesOf(rel);
    const value = param(rel, "VALUE")?.toLowerCase() === "text"
      ? text({ ...card, properties: [rel] }, "RELATED")
      : rel.value;
    if (t.includes("spouse") && !contact.spouse) set("spouse", value, rel);
    if (t.includes("x-manager") && !contact.managerName) set("managerName", value, rel);
    if (t.includes("x-assistant") && !contact.assistantName) set("assistantName", value, rel);
  }
  const bday = prop(card, "BDAY");
  if (bday) {
    const d = dateOf(bday.value);
    if (d) {
      contact.birthday = d;
      sources.set("birthday", bday);
    }
  }
  const anniversary = prop(card, "ANNIVERSARY") ?? prop(card, "X-ANNIVERSARY") ??
    prop(card, "X-MS-ANNIVERSARY");
  if (anniversary) {
    const d = dateOf(anniversary.value);
    if (d) {
      contact.anniversary = d;
      sources.set("anniversary", anniversary);
    }
  }
  const emails = props(card, "EMAIL").sort((a, b) => prefOf(a) - prefOf(b));
  emails.slice(0, 3).forEach((p, i) => set(EMAIL_FIELDS[i]!, p.value.trim(), p));
  const ims = [
    ...props(card, "IMPP"),
    ...props(card, "X-JABBER"),
    ...props(card, "X-AIM"),
    ...props(card, "X-SKYPE"),
  ];
  ims.slice(0, 3).forEach((p, i) => set(IM_FIELDS[i]!, p.value.trim(), p));
  const taken = new Set<Property>();
  for (const slot of TEL_SLOTS) {
    const p = props(card, "TEL").find((t) => !taken.has(t) && slot.match(typesOf(t)));
    if (!p) continue;
    taken.add(p);
    set(slot.field, p.value.replace(/^tel:/i, "").trim(), p);
  }
  for (const kind of ADR_KINDS) {
    const p = props(card, "ADR").find((a) => kind.match(typesOf(a)));
    if (!p) continue;
    const parts = splitValue(p.value, ";");
    const street = [parts[1], parts[2]].filter((s) => s).join("\n") || parts[0];
    set(`${kind.prefix}AddressStreet` as keyof Contact, street, p);
    for (const [i, suffix] of ADR_PARTS) set(`${kind.prefix}${suffix}` as keyof Contact, parts[i], p);
  }
  const note = text(card, "NOTE");
  if (note) {
    contact.body = bodyOf(note, prefs);
    sources.set("body", prop(card, "NOTE")!);
  }
  const categories = props(card, "CATEGORIES").flatMap((p) => splitValue(p.value, ",")).filter((s) => s);
  if (categories.length) contact.categories = categories;
  const children = [
    ...props(card, "X-MS-CHILD"),
    ...props(card, "X-CHILD"),
    ...props(card, "RELATED").filter((r) => typesOf(r).includes("child")),
  ].map((p) => p.value);
  if (children.length) contact.children = children;
  const photo = withPicture ? prop(card, "PHOTO") : undefined;
  let photoLeftOut: string | undefined;
  if (photo) {
    const data = photoBase64(photo);
    if (data) {
      // The phone's limit (MS-ASCNTC 2.2.2.58): a larger photo is resized; the server keeps the original.
      const fitted = fit(data);
      if (fitted.ok) {
        contact.picture = fitted.base64;
        sources.set("picture", photo);
      } else {
        photoLeftOut = fitted.reason;
        // Still the property a phone's new picture replaces.
        sources.set("picture", photo);
      }
    }
  }
  return photoLeftOut === undefined ? { contact, sources } : { contact, sources, photoLeftOut };
}

/** A card's base64 photo as the phone may get it: itself when small enough, else a smaller JPEG (on this thread). */
function fitContactPhoto(base64: string): PictureFit {
  const bytes = photoToFit(base64);
  return bytes instanceof Uint8Array ? pictureOf(fitPhoto(bytes, CONTACT_PICTURE_MAX_BYTES), base64) : bytes;
}

/** The PHOTO of a card fitted in the photo worker; undefined when the card has no inline photo. */
async function fitCardPhotoOffThread(card: Component): Promise<PictureFit | undefined> {
  const photo = prop(card, "PHOTO");
  const base64 = photo ? photoBase64(photo) : undefined;
  if (!base64) return undefined;
  const bytes = photoToFit(base64);
  if (!(bytes instanceof Uint8Array)) return bytes;
  return pictureOf(await fitPhotoOffThread(bytes, CONTACT_PICTURE_MAX_BYTES), base64);
}

/** The bytes to resize, or the answer without resizing: the photo itself when small enough, or why not. */
function photoToFit(base64: string): Uint8Array | PictureFit {
  // 48 KB of base64 is the 36 KB of bytes the limit names; such a photo goes as it is, undecoded.
  if (base64.length <= Math.ceil(CONTACT_PICTURE_MAX_BYTES / 3) * 4) return { ok: true, base64 };
  try {
    return Uint8Array.fromBase64(base64);
  } catch {
    return { ok: false, reason: "PHOTO is not valid base64" };
  }
}

function pictureOf(fit: PhotoFit, base64: string): PictureFit {
  if (!fit.ok) return fit;
  return { ok: true, base64: fit.resized ? fit.bytes.toBase64() : base64 };
}

function prefOf(p: Property): number {
  const pref = param(p, "PREF");
  if (pref && /^\d+$/.test(pref)) return Number(pref);
  return typesOf(p).includes("pref") ? 0 : 100;
}

/** Result of writing a contact. */
export interface ContactWrite {
  vcf: string;
  uid: string;
}

/**
 * Merges an EAS contact into the stored vCard (or a new 3.0 card) and
 * serialises it. A large stored PHOTO is fitted again on this thread to
 * tell whether the phone changed it: a server uses vcardFromContactAsync().
 */
export function vcardFromContact(contact: Contact, stored: string | undefined, uid?: string): ContactWrite {
  const card = storedCard(stored, uid);
  return writeCard(contact, card, readCard(card, [], true, fitContactPhoto));
}

/**
 * vcardFromContact() with the stored PHOTO fitted in the photo worker (a
 * content-cache hit when the phone got the card from this server lately).
 */
export async function vcardFromContactAsync(
  contact: Contact,
  stored: string | undefined,
  uid?: string,
): Promise<ContactWrite> {
  const card = storedCard(stored, uid);
  const fitted = await fitCardPhotoOffThread(card);
  if (fitted && !fitted.ok && fitted.transient && contact.picture !== undefined) {
    // Unknown what the phone was sent for the stored photo, so whether it changed it: taking its
    // picture could replace the full-size original with our resized copy. The phone retries later.
    throw new BackendUnavailableError(`Cannot compare the contact's picture now: ${fitted.reason}`);
  }
  return writeCard(contact, card, readCard(card, [], true, () => fitted ?? NOT_FITTED));
}

function storedCard(stored: string | undefined, uid: string | undefined): Component {
  return stored ? parseComponents(stored).find((c) => c.name === "VCARD") ?? emptyCard(uid) : emptyCard(uid);
}

/** The card with the phone's contact merged in: only what the phone changed against `read` is rewritten. */
function writeCard(contact: Contact, card: Component, read: ContactRead): ContactWrite {
  const version = prop(card, "VERSION")?.value ?? "3.0";
  const { contact: exported, sources } = read;
  const c = contact as Record<string, unknown>;
  const e = exported as Record<string, unknown>;
  const touched = (f: keyof Contact) => c[f] !== undefined || e[f] !== undefined;
  const value = (f: keyof Contact) => (c[f] === "" ? undefined : c[f] as string | undefined);

  const replace = (old: Property | undefined, next: Property | undefined) => {
    if (old) {
      const i = card.properties.indexOf(old);
      if (i >= 0) card.properties.splice(i, 1, ...(next ? [next] : []));
      else if (next) card.properties.push(next);
    } else if (next) card.properties.push(next);
  };

  // N and FN: the structured name; FN is needed by both versions (RFC 6350 6.2.1).
  const nameFields = ["lastName", "firstName", "middleName", "title", "suffix"] as const;
  if (nameFields.some(touched)) {
    const parts = nameFields.map((f) => escapeText(value(f) ?? ""));
    const old = prop(card, "N");
    replace(
      old,
      { ...(old ?? {}), name: "N", params: old?.params ?? {}, value: parts.join(";") } as Property,
    );
  }
  const orgFields = ["companyName", "department"] as const;
  if (orgFields.some(touched)) {
    const old = prop(card, "ORG");
    const has = orgFields.some((f) => value(f));
    replace(
      old,
      has
        ? {
          ...(old ?? {}),
          name: "ORG",
          params: old?.params ?? {},
          value: orgFields.map((f) => escapeText(value(f) ?? "")).join(";"),
        } as Property
        : undefined,
    );
  }
  for (const { field, names } of SIMPLE_PROPERTIES) {
    if (!touched(field) || c[field] === e[field]) continue;
    const old = sources.get(field);
    const v = value(field);
    replace(
      old,
      v === undefined ? undefined : {
        ...(old ?? {}),
        name: old?.name ?? names[0]!,
        params: old?.params ?? {},
        value: escapeText(v),
      } as Property,
    );
  }
  const slot = (field: keyof Contact, name: string, types: string[], format = (v: string) => v) => {
    if (!touched(field) || c[field] === e[field]) return;
    const old = sources.get(field);
    const v = value(field);
    replace(
      old,
      v === undefined
        ? undefined
        : { ...(old ?? {}), name, params: old?.params ?? { TYPE: types }, value: format(v) } as Property,
    );
  };
  EMAIL_FIELDS.forEach((f) => slot(f, "EMAIL", ["INTERNET"], (v) => v.replace(/^.*<([^>]+)>.*$/, "$1")));
  IM_FIELDS.forEach((f) =>
    slot(f, sources.get(f)?.name ?? (version.startsWith("4") ? "IMPP" : "X-JABBER"), [])
  );
  for (const s of TEL_SLOTS) slot(s.field, "TEL", s.types);
  for (const kind of ADR_KINDS) {
    const fields = ["AddressStreet", ...ADR_PARTS.map(([, s]) => s)].map((s) =>
      `${kind.prefix}${s}` as keyof Contact
    );
    if (!fields.some(touched) || fields.every((f) => c[f] === e[f])) continue;
    const old = sources.get(fields[0]!) ?? fields.map((f) => sources.get(f)).find((p) => p);
    const values = fields.map((f) => value(f));
    const parts = old ? splitValue(old.value, ";") : ["", "", "", "", "", "", ""];
    parts[2] = values[0] ?? "";
    if (old && values[0] !== undefined) parts[1] = "";
    ADR_PARTS.forEach(([i], k) => (parts[i] = values[k + 1] ?? ""));
    const empty = values.every((v) => v === undefined);
    replace(
      old,
      empty ? undefined : {
        ...(old ?? {}),
        name: "ADR",
        params: old?.params ?? { TYPE: [...kind.types] },
        value: parts.map(escapeText).join(";"),
      } as Property,
    );
  }
  for (const field of ["birthday", "anniversary"] as const) {
    const v = contact[field];
    if (!touched(field) || v?.getTime() === exported[field]?.getTime()) continue;
    const old = sources.get(field);
    const name = field === "birthday" ? "BDAY" : version.startsWith("4") ? "ANNIVERSARY" : "X-ANNIVERSARY";
    replace(
      old,
      v
        ? { name: old?.name ?? name, params: old?.params ?? {}, value: formatDateValue(v, version) }
        : undefined,
    );
  }
  const note = textOfBody(contact.body) ?? contact.body25;
  if (note !== undefined) replace(sources.get("body"), note ? property("NOTE", escapeText(note)) : undefined);
  if (touched("categories") && JSON.stringify(contact.categories) !== JSON.stringify(exported.categories)) {
    card.properties = card.properties.filter((p) => p.name !== "CATEGORIES");
    if (contact.categories?.length) {
      card.properties.push(property("CATEGORIES", contact.categories.map(escapeText).join(",")));
    }
  }
  if (touched("children") && JSON.stringify(contact.children) !== JSON.stringify(exported.children)) {
    card.properties = card.properties.filter((p) =>
      p.name !== "X-MS-CHILD" && p.name !== "X-CHILD" &&
      !(p.name === "RELATED" && typesOf(p).includes("child"))
    );
    for (const child of contact.children ?? []) {
      card.properties.push(property("X-MS-CHILD", escapeText(child)));
    }
  }
  if (touched("picture") && contact.picture !== exported.picture) {
    const pic = contact.picture;
    replace(
      sources.get("picture"),
      pic
        ? version.startsWith("4")
          ? property("PHOTO", `data:image/jpeg;base64,${pic}`)
          : property("PHOTO", pic, { ENCODING: ["b"], TYPE: ["JPEG"] })
        : undefined,
    );
  }
  // FN is required (RFC 6350 6.2.1): the composed name, else the company or an email.
  if (!prop(card, "FN")) {
    const composed = [contact.firstName, contact.middleName, contact.lastName].filter((s) => s).join(" ") ||
      contact.companyName || contact.email1Address || "";
    card.properties.splice(1, 0, property("FN", escapeText(composed)));
  }
  return { vcf: serialize(card), uid: text(card, "UID")! };
}

function emptyCard(uid?: string): Component {
  return {
    name: "VCARD",
    properties: [property("VERSION", "3.0"), property("UID", escapeText(uid ?? crypto.randomUUID()))],
    components: [],
  };
}
