import { type EmailOptions, isMailSource } from "../../backend/mail.ts";
import { BackendUnavailableError } from "../../backend/types.ts";
import { child, childText, el, textEl, type WbxmlElement } from "../../wbxml/tree.ts";
import { EMAIL_SCHEMA } from "../model/email.ts";
import { parseEasDate, toElements } from "../model/streamer.ts";
import { FOLDER_TYPE } from "../protocol/folder_types.ts";
import { atLeast } from "../protocol/versions.ts";
import { parseSyncOptions } from "../sync/options.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";

/** Search statuses (MS-ASCMD 2.2.3.177.14). */
export const SEARCH_STATUS = {
  Success: 1,
  InvalidRequest: 2,
  ServerError: 3,
  BadLink: 4,
  AccessDenied: 5,
  NotFound: 6,
  ConnectionFailure: 7,
  TooComplex: 8,
  TimedOut: 10,
  FolderSyncRequired: 11,
  EndOfRangeExceeded: 12,
} as const;

/** GAL Picture statuses (MS-ASCMD 2.2.3.177.7, common statuses 173-175). */
export const PICTURE_STATUS = { Success: 1, NoPicture: 173, TooLarge: 174, LimitReached: 175 } as const;

/** One Global Address List entry with the GAL fields of MS-ASCMD 2.2.3.x (GAL code page). */
export interface GalEntry {
  displayName: string;
  email: string;
  /** Further addresses of the same person (aliases). */
  aliases?: string[];
  alias?: string;
  firstName?: string;
  lastName?: string;
  phone?: string;
  homePhone?: string;
  mobilePhone?: string;
  office?: string;
  title?: string;
  company?: string;
  /** A JPEG or PNG photo. */
  picture?: Uint8Array;
  /** DER X.509 certificates (userCertificate;binary) for ResolveRecipients. */
  certificates?: Uint8Array[];
}

/** A directory the GAL commands search; implementations cache with a short TTL. */
export interface GalDirectory {
  /** Entries whose names or addresses contain `query` (case-insensitive), sorted by display name. */
  search(query: string, limit: number): Promise<GalEntry[]>;
  /** The entry owning exactly this address (primary or alias), if any. */
  lookup(address: string): Promise<GalEntry | undefined>;
  /**
   * A copy of `picture` (an entry's photo) of at most `maxBytes`, resized
   * off the event loop; undefined when none can be made that small. Without
   * it a photo above the client's MaxSize is answered with status 174.
   */
  fitPicture?(picture: Uint8Array, maxBytes: number): Promise<Uint8Array | undefined>;
}

/** What a mailbox search looks for (MS-ASCMD 2.2.3.137 Query). */
export interface MailCriteria {
  freeText?: string;
  /** DateReceived strictly after / before (GreaterThan / LessThan). */
  after?: Date;
  before?: Date;
}

/** One hit of a mailbox search. */
export interface MailHit {
  folderKey: string;
  id: string;
  /** Milliseconds since the epoch (INTERNALDATE). */
  date: number;
}

/** Mailbox search over the user's mailstore (IMAP SEARCH/ESEARCH). */
export interface MailSearch {
  /** Hits in the folders, newest first; at most `limit`. */
  search(folderKeys: string[], criteria: MailCriteria, limit: number): Promise<MailHit[]>;
}

const NS = "Search";
/** Default and maximum results of one GAL Search (MS-ASCMD 2.2.3.145.1: the server may cap at 100). */
const GAL_MAX_RESULTS = 100;
/** Mailbox hits considered per search; beyond it Range reaches status 12. */
const MAILBOX_MAX_HITS = 1000;
/** Largest picture sent when the client names no MaxSize (16.x clients always do). */
const DEFAULT_PICTURE_BYTES = 100 * 1024;

/** Parses "first-last" (MS-ASCMD 2.2.3.142.1); undefined when malformed. */
export function parseSearchRange(
  text: string | undefined,
  fallbackLast: number,
): [number, number] | undefined {
  if (text === undefined) return [0, fallbackLast];
  const match = /^(\d{1,6})-(\d{1,6})$/.exec(text.trim());
  if (!match) return undefined;
  const first = Number(match[1]);
  const last = Number(match[2]);
  return first <= last ? [first, last] : undefined;
}

function storeResult(status: number, ...rest: (WbxmlElement | undefined)[]): EasResponse {
  return {
    body: el(
      NS,
      "Search",
      textEl(NS, "Status", SEARCH_STATUS.Success),
      el(NS, "Response", el(NS, "Store", textEl(NS, "Status", status), ...rest)),
    ),
  };
}

/**
 * Search (MS-ASCMD 2.2.1.16) of the GAL and of the mailbox. Results are
 * computed afresh for every request in a stable order, so a client that pages
 * with Range (or stops at 10, as the Gmail app does) always sees consistent
 * pages; RebuildResults therefore needs no cache to invalidate.
 */
export async function search(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  const store = child(request.body, "Store", NS);
  if (request.body?.name !== "Search" || !store) {
    return { body: el(NS, "Search", textEl(NS, "Status", SEARCH_STATUS.InvalidRequest)) };
  }
  const name = (childText(store, "Name", NS) ?? "").toLowerCase();
  try {
    if (name === "gal") return await searchGal(store, ctx);
    if (name === "mailbox") return await searchMailbox(store, ctx);
    return storeResult(SEARCH_STATUS.InvalidRequest);
  } catch (error) {
    ctx.log?.warn("search.failed", { user: ctx.user, store: name, error });
    if (error instanceof BackendUnavailableError) return storeResult(SEARCH_STATUS.ConnectionFailure);
    return storeResult(SEARCH_STATUS.ServerError);
  }
}

/** Picture options (MS-ASCMD 2.2.3.131 Picture: MaxSize in bytes, MaxPictures per response). */
export interface PictureOptions {
  maxSize: number;
  maxPictures: number;
}

/** Reads Picture options from a Search/Find/ResolveRecipients Options element. */
export function pictureOptions(options: WbxmlElement | undefined, ns: string): PictureOptions | undefined {
  const picture = child(options, "Picture", ns);
  if (!picture) return undefined;
  const maxSize = Number(childText(picture, "MaxSize", ns) ?? DEFAULT_PICTURE_BYTES);
  const maxPictures = Number(childText(picture, "MaxPictures", ns) ?? GAL_MAX_RESULTS);
  return {
    maxSize: Number.isFinite(maxSize) && maxSize >= 0 ? maxSize : DEFAULT_PICTURE_BYTES,
    maxPictures: Number.isFinite(maxPictures) && maxPictures >= 0 ? maxPictures : GAL_MAX_RESULTS,
  };
}

/**
 * The GAL properties of an entry, in GAL.xsd order; with picture options, a
 * Picture element whose Status says why no Data came (MS-ASCMD 2.2.3.131.1).
 */
export function galProperties(
  entry: GalEntry,
  pictures: PictureOptions | undefined,
  sent: { count: number },
  ns = "GAL",
): WbxmlElement[] {
  const fields: [string, string | undefined][] = [
    ["DisplayName", entry.displayName],
    ["Phone", entry.phone],
    ["Office", entry.office],
    ["Title", entry.title],
    ["Company", entry.company],
    ["Alias", entry.alias],
    ["FirstName", entry.firstName],
    ["LastName", entry.lastName],
    ["HomePhone", entry.homePhone],
    ["MobilePhone", entry.mobilePhone],
    ["EmailAddress", entry.email],
  ];
  const out = fields.filter(([, value]) => value).map(([name, value]) => textEl(ns, name, value!));
  if (pictures) out.push(pictureElement(entry.picture, pictures, sent, ns));
  return out;
}

/**
 * A Picture element (GAL, ResolveRecipients): Status 1 with the Data, or
 * why there is none: no photo (173), above MaxSize (174), MaxPictures sent
 * already (175). `sent` counts the photos sent for the same query.
 */
export function pictureElement(
  picture: Uint8Array | undefined,
  pictures: PictureOptions,
  sent: { count: number },
  ns: string,
): WbxmlElement {
  let status: number = PICTURE_STATUS.Success;
  if (!picture) status = PICTURE_STATUS.NoPicture;
  else if (picture.length > pictures.maxSize) status = PICTURE_STATUS.TooLarge;
  else if (sent.count >= pictures.maxPictures) status = PICTURE_STATUS.LimitReached;
  if (status === PICTURE_STATUS.Success) sent.count++;
  return el(
    ns,
    "Picture",
    textEl(ns, "Status", status),
    status === PICTURE_STATUS.Success ? textEl(ns, "Data", base64(picture!)) : undefined,
  );
}

/**
 * The entries with each photo above MaxSize replaced by a copy the
 * directory resized to fit (MS-ASCMD 2.2.3.105 MaxSize bounds each picture
 * returned; the server may send a smaller version rather than none). Only
 * the photos pictureElement() will send are resized: up to MaxPictures,
 * counting the ones that fit already. A photo that cannot be made small
 * enough stays, and pictureElement() answers it with status 174. Entries are
 * copied, never changed: they belong to the directory's cache.
 */
export async function fitGalPictures<T extends GalEntry>(
  entries: T[],
  pictures: PictureOptions | undefined,
  gal: GalDirectory | undefined,
): Promise<T[]> {
  if (!pictures || !gal?.fitPicture) return entries;
  const out: T[] = [];
  let sent = 0;
  for (const entry of entries) {
    const picture = entry.picture;
    if (!picture || sent >= pictures.maxPictures) {
      out.push(entry);
      continue;
    }
    if (picture.length <= pictures.maxSize) {
      sent++;
      out.push(entry);
      continue;
    }
    const fitted = await gal.fitPicture(picture, pictures.maxSize);
    if (fitted && fitted.length <= pictures.maxSize) {
      sent++;
      out.push({ ...entry, picture: fitted });
    } else out.push(entry);
  }
  return out;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

async function searchGal(store: WbxmlElement, ctx: CommandContext): Promise<EasResponse> {
  const query = (childText(store, "Query", NS) ?? "").trim();
  const options = child(store, "Options", NS);
  const range = parseSearchRange(childText(options, "Range", NS), GAL_MAX_RESULTS - 1);
  if (!query || !range) return storeResult(SEARCH_STATUS.InvalidRequest);
  if (!ctx.gal) return storeResult(SEARCH_STATUS.AccessDenied);
  const entries = await ctx.gal.search(query, GAL_MAX_RESULTS);
  const pictures = atLeast(ctx.protocolVersion, "14.1") ? pictureOptions(options, NS) : undefined;
  const [first, last] = range;
  const page = await fitGalPictures(
    entries.slice(first, Math.min(last + 1, first + GAL_MAX_RESULTS)),
    pictures,
    ctx.gal,
  );
  if (page.length === 0) {
    // An empty Result says "no matches" (MS-ASCMD 2.2.3.155.1).
    return storeResult(SEARCH_STATUS.Success, el(NS, "Result"), textEl(NS, "Total", 0));
  }
  const sent = { count: 0 };
  const results = page.map((entry) =>
    el(NS, "Result", el(NS, "Properties", ...galProperties(entry, pictures, sent)))
  );
  return storeResult(
    SEARCH_STATUS.Success,
    ...results,
    textEl(NS, "Range", `${first}-${first + page.length - 1}`),
    textEl(NS, "Total", entries.length),
  );
}

/** A parsed mailbox query: the folders (ServerIds) named and the criteria. */
interface MailboxQuery {
  collectionIds: string[];
  criteria: MailCriteria;
}

/** Reads the mailbox Query (MS-ASCMD 2.2.3.137.1): And of Class, CollectionId, FreeText, GreaterThan, LessThan. */
export function parseMailboxQuery(query: WbxmlElement | undefined): MailboxQuery | number {
  const and = child(query, "And", NS) ?? query;
  if (!and) return SEARCH_STATUS.InvalidRequest;
  const result: MailboxQuery = { collectionIds: [], criteria: {} };
  for (const part of and.children ?? []) {
    if (part.name === "Class" && part.ns === "AirSync") {
      if ((part.text ?? "") !== "Email") return SEARCH_STATUS.TooComplex;
    } else if (part.name === "CollectionId" && part.ns === "AirSync") {
      result.collectionIds.push(part.text ?? "");
    } else if (part.name === "FreeText" && part.ns === NS) {
      const text = (part.text ?? "").trim();
      if (text) result.criteria.freeText = text;
    } else if ((part.name === "GreaterThan" || part.name === "LessThan") && part.ns === NS) {
      if (!child(part, "DateReceived", "Email")) return SEARCH_STATUS.TooComplex;
      const value = parseEasDate(childText(part, "Value", NS) ?? "");
      if (!value) return SEARCH_STATUS.InvalidRequest;
      if (part.name === "GreaterThan") result.criteria.after = value;
      else result.criteria.before = value;
    } else {
      return SEARCH_STATUS.TooComplex;
    }
  }
  return result;
}

async function searchMailbox(store: WbxmlElement, ctx: CommandContext): Promise<EasResponse> {
  const parsed = parseMailboxQuery(child(store, "Query", NS));
  if (typeof parsed === "number") return storeResult(parsed);
  const options = child(store, "Options", NS);
  const range = parseSearchRange(childText(options, "Range", NS), 99);
  if (!range) return storeResult(SEARCH_STATUS.InvalidRequest);
  if (!ctx.mailSearch) return storeResult(SEARCH_STATUS.AccessDenied);
  const deep = child(options, "DeepTraversal", NS) !== undefined;
  const folderKeys = await mailFolderKeys(ctx, parsed.collectionIds, deep);
  if (typeof folderKeys === "number") return storeResult(folderKeys);
  const hits = await ctx.mailSearch.search(folderKeys, parsed.criteria, MAILBOX_MAX_HITS);
  const [first, last] = range;
  if (hits.length === 0) return storeResult(SEARCH_STATUS.Success, el(NS, "Result"), textEl(NS, "Total", 0));
  if (first >= hits.length) {
    return storeResult(SEARCH_STATUS.EndOfRangeExceeded, textEl(NS, "Total", hits.length));
  }
  const page = hits.slice(first, last + 1);
  const sync = parseSyncOptions(options);
  const results: WbxmlElement[] = [];
  for (const hit of page) {
    const result = await mailResult(ctx, hit, sync);
    if (result) results.push(result);
  }
  return storeResult(
    SEARCH_STATUS.Success,
    ...results,
    textEl(NS, "Range", `${first}-${first + page.length - 1}`),
    textEl(NS, "Total", hits.length),
  );
}

/**
 * Backend keys of the folders to search: the named ones (and their subfolders
 * with DeepTraversal), else every mail folder. An unknown CollectionId is a
 * stale folder list: FolderSync required (status 11).
 */
export async function mailFolderKeys(
  ctx: CommandContext,
  collectionIds: string[],
  deep: boolean,
): Promise<string[] | number> {
  const folders = await ctx.backend.listFolders();
  const mail = folders.filter((f) => MAIL_TYPES.has(f.type) && isMailSource(ctx.backend.sourceOf(f.key)));
  if (collectionIds.length === 0) return mail.map((f) => f.key);
  const keys = new Set<string>();
  for (const id of collectionIds) {
    const key = ctx.store.folders.backendKeyOf(ctx.user, id);
    if (!key || !mail.some((f) => f.key === key)) return SEARCH_STATUS.FolderSyncRequired;
    keys.add(key);
  }
  if (deep) {
    let grew = true;
    while (grew) {
      grew = false;
      for (const folder of mail) {
        if (folder.parentKey && keys.has(folder.parentKey) && !keys.has(folder.key)) {
          keys.add(folder.key);
          grew = true;
        }
      }
    }
  }
  return [...keys];
}

const MAIL_TYPES = new Set<number>([
  FOLDER_TYPE.Inbox,
  FOLDER_TYPE.Drafts,
  FOLDER_TYPE.DeletedItems,
  FOLDER_TYPE.SentItems,
  FOLDER_TYPE.Outbox,
  FOLDER_TYPE.UserMail,
]);

/** One mailbox Result: Class, LongId (the stateless ServerId), CollectionId and the Email properties. */
export async function mailResult(
  ctx: CommandContext,
  hit: MailHit,
  sync: ReturnType<typeof parseSyncOptions>,
  ns = NS,
): Promise<WbxmlElement | undefined> {
  const source = ctx.backend.sourceOf(hit.folderKey);
  if (!isMailSource(source)) return undefined;
  const collectionId = ctx.store.folders.serverIdFor(ctx.user, hit.folderKey);
  const options: EmailOptions = {
    version: ctx.protocolVersion,
    bodyPreferences: sync.bodyPreferences,
    bodyPartPreferences: sync.bodyPartPreferences,
    mimeSupport: sync.mimeSupport,
    folderServerId: collectionId,
  };
  for await (const fetched of source.fetchEmails(hit.folderKey, [hit.id], options)) {
    if ("error" in fetched) return undefined;
    return el(
      ns,
      "Result",
      textEl("AirSync", "Class", "Email"),
      textEl(ns, "LongId", `${collectionId}:${hit.id}`),
      textEl("AirSync", "CollectionId", collectionId),
      {
        ns,
        name: "Properties",
        children: toElements(EMAIL_SCHEMA, fetched.email, { version: ctx.protocolVersion }),
      },
    );
  }
  return undefined;
}
