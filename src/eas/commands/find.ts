/**
 * Find (MS-ASCMD 2.2.1.2, protocol 16.1): the unified search of 16.x
 * clients over the mailbox (MailBoxSearchCriterion) or the GAL
 * (GALSearchCriterion). It reuses the Search command's mailbox search and
 * GAL directory; results are computed afresh per request in a stable order,
 * so paging by Range needs no server-side result cache and SearchId is only
 * echoed in logs.
 *
 * @module
 */

import { type EmailOptions, isMailSource } from "../../backend/mail.ts";
import { BackendUnavailableError } from "../../backend/types.ts";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../wbxml/tree.ts";
import type { Email } from "../model/email.ts";
import { formatEasDate } from "../model/streamer.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";
import {
  fitGalPictures,
  galProperties,
  type MailCriteria,
  mailFolderKeys,
  type MailHit,
  pictureOptions,
} from "./search.ts";

/**
 * Find statuses (MS-ASCMD 2.2.3.177.2): 1 success, 2 the request failed to
 * validate, 3 the folder hierarchy is out of date (FolderSync required).
 */
export const FIND_STATUS = {
  Success: 1,
  InvalidRequest: 2,
  FolderSyncRequired: 3,
} as const;

const NS = "Find";
/** Range bounds: 0 <= m <= n <= 999 (MS-ASCMD 2.2.3.143.1). */
const MAX_RANGE_INDEX = 999;
/** Default Range when the request names none (the first 100 matches, like Search). */
const DEFAULT_LAST = 99;
/** Characters of the plain-text Preview (MS-ASCMD 2.2.3.138: at most 255). */
const PREVIEW_CHARS = 255;
/**
 * Bytes of plain body fetched to cut the Preview from: a bounded slice, not
 * the message (multi-byte text needs a few bytes per character).
 */
const PREVIEW_FETCH_BYTES = 1024;
/** GAL query length the spec allows (MS-ASCMD 2.2.3.142.1: 4 to 256 characters for GAL Find). */
const GAL_QUERY_MAX = 256;

/** Parses a Find Range "m-n" with 0 <= m <= n <= 999; undefined when malformed. */
export function parseFindRange(text: string | undefined): [number, number] | undefined {
  if (text === undefined) return [0, DEFAULT_LAST];
  const match = /^(\d{1,3})-(\d{1,3})$/.exec(text.trim());
  if (!match) return undefined;
  const first = Number(match[1]);
  const last = Number(match[2]);
  return first <= last && last <= MAX_RANGE_INDEX ? [first, last] : undefined;
}

function failed(status: number): EasResponse {
  return { body: el(NS, "Find", textEl(NS, "Status", status)) };
}

/** A successful Find: the store searched, the results, Range of the page and Total. */
function answer(
  storeName: string,
  results: WbxmlElement[],
  range: [number, number] | undefined,
  total: number,
  status: number = FIND_STATUS.Success,
): EasResponse {
  return {
    body: el(
      NS,
      "Find",
      textEl(NS, "Status", FIND_STATUS.Success),
      el(
        NS,
        "Response",
        textEl("ItemOperations", "Store", storeName),
        textEl(NS, "Status", status),
        ...results,
        range ? textEl(NS, "Range", `${range[0]}-${range[1]}`) : undefined,
        textEl(NS, "Total", total),
      ),
    ),
  };
}

/**
 * Find: one ExecuteSearch with exactly one criterion. A malformed request is
 * status 2; an unreachable mailstore or directory becomes HTTP 503 (the
 * HTTP layer maps BackendUnavailableError) so the phone retries later.
 */
export async function find(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  const body = request.body;
  const execute = child(body, "ExecuteSearch", NS);
  if (body?.name !== "Find" || body.ns !== NS || !execute) return failed(FIND_STATUS.InvalidRequest);
  const mailbox = child(execute, "MailBoxSearchCriterion", NS);
  // The WBXML token 0x19 is "GalSearchCriterion" in MS-ASWBXML; the command text spells it GALSearchCriterion.
  const gal = child(execute, "GalSearchCriterion", NS) ?? child(execute, "GALSearchCriterion", NS);
  if (!mailbox === !gal) return failed(FIND_STATUS.InvalidRequest);
  try {
    return mailbox ? await findMailbox(mailbox, ctx) : await findGal(gal!, ctx);
  } catch (error) {
    ctx.log?.warn("find.failed", {
      user: ctx.user,
      searchId: childText(body, "SearchId", NS),
      store: mailbox ? "Mailbox" : "GAL",
      error,
    });
    throw error;
  }
}

/** The free text of a Query: its FreeText child, or (leniently) the Query's own text. */
function queryText(query: WbxmlElement | undefined): string {
  return (childText(query, "FreeText", NS) ?? query?.text ?? "").trim();
}

async function findGal(criterion: WbxmlElement, ctx: CommandContext): Promise<EasResponse> {
  const text = queryText(child(criterion, "Query", NS));
  const options = child(criterion, "Options", NS);
  const range = parseFindRange(childText(options, "Range", NS));
  if (!text || text.length > GAL_QUERY_MAX || !range) return failed(FIND_STATUS.InvalidRequest);
  if (!ctx.gal) throw new BackendUnavailableError("No Global Address List is configured");
  const entries = await ctx.gal.search(text, MAX_RANGE_INDEX + 1);
  const pictures = pictureOptions(options, NS);
  const [first, last] = range;
  const page = await fitGalPictures(entries.slice(first, last + 1), pictures, ctx.gal);
  const sent = { count: 0 };
  const results = page.map((entry) =>
    el(NS, "Result", el(NS, "Properties", ...galProperties(entry, pictures, sent)))
  );
  return answer("GAL", results, page.length ? [first, first + page.length - 1] : undefined, entries.length);
}

/** Reads the mailbox Query (MS-ASCMD 2.2.3.142.1): airsync:Class (Email only), airsync:CollectionId, FreeText. */
function mailboxQuery(
  query: WbxmlElement | undefined,
): { collectionIds: string[]; criteria: MailCriteria } | undefined {
  if (!query) return undefined;
  const classes = childrenNamed(query, "Class", "AirSync").map((c) => c.text ?? "");
  if (classes.some((c) => c !== "Email")) return undefined;
  const collectionIds = childrenNamed(query, "CollectionId", "AirSync").map((c) => c.text ?? "");
  const freeText = queryText(query);
  if (!freeText) return undefined;
  return { collectionIds, criteria: { freeText } };
}

async function findMailbox(criterion: WbxmlElement, ctx: CommandContext): Promise<EasResponse> {
  const query = mailboxQuery(child(criterion, "Query", NS));
  const options = child(criterion, "Options", NS);
  const range = parseFindRange(childText(options, "Range", NS));
  if (!query || !range) return failed(FIND_STATUS.InvalidRequest);
  if (!ctx.mailSearch) throw new BackendUnavailableError("No mailstore is configured for mailbox search");
  const deep = child(options, "DeepTraversal", NS) !== undefined;
  const folderKeys = await mailFolderKeys(ctx, query.collectionIds, deep);
  if (typeof folderKeys === "number") {
    return answer("Mailbox", [], undefined, 0, FIND_STATUS.FolderSyncRequired);
  }
  const hits = await ctx.mailSearch.search(folderKeys, query.criteria, MAX_RANGE_INDEX + 1);
  const [first, last] = range;
  const page = hits.slice(first, last + 1);
  const results: WbxmlElement[] = [];
  for (const hit of page) {
    const result = await mailResult(ctx, hit);
    if (result) results.push(result);
  }
  return answer(
    "Mailbox",
    results,
    results.length ? [first, first + results.length - 1] : undefined,
    hits.length,
  );
}

/** One mailbox Result: Class, ServerId "<folder>:<uid>", CollectionId and the Find properties. */
async function mailResult(ctx: CommandContext, hit: MailHit): Promise<WbxmlElement | undefined> {
  const source = ctx.backend.sourceOf(hit.folderKey);
  if (!isMailSource(source)) return undefined;
  const collectionId = ctx.store.folders.serverIdFor(ctx.user, hit.folderKey);
  const options: EmailOptions = {
    version: ctx.protocolVersion,
    bodyPreferences: [{ type: 1, truncationSize: PREVIEW_FETCH_BYTES }],
    mimeSupport: 0,
    folderServerId: collectionId,
  };
  for await (const fetched of source.fetchEmails(hit.folderKey, [hit.id], options)) {
    if ("error" in fetched) return undefined;
    return el(
      NS,
      "Result",
      textEl("AirSync", "Class", "Email"),
      textEl("AirSync", "ServerId", `${collectionId}:${hit.id}`),
      textEl("AirSync", "CollectionId", collectionId),
      el(NS, "Properties", ...findEmailProperties(fetched.email)),
    );
  }
  return undefined;
}

/**
 * The Find properties of a message (MS-ASCMD 2.2.3.139.1): Subject,
 * DateReceived, DisplayTo, DisplayCc, Importance, Read, IsDraft, Preview,
 * HasAttachments, From. DisplayCc carries the Cc header as it stands.
 */
export function findEmailProperties(email: Email): WbxmlElement[] {
  const preview = previewOf(email);
  return [
    email.subject !== undefined ? textEl("Email", "Subject", email.subject) : undefined,
    email.dateReceived ? textEl("Email", "DateReceived", formatEasDate(email.dateReceived)) : undefined,
    email.displayTo ? textEl("Email", "DisplayTo", email.displayTo) : undefined,
    email.cc ? textEl(NS, "DisplayCc", email.cc) : undefined,
    email.importance !== undefined ? textEl("Email", "Importance", email.importance) : undefined,
    email.read !== undefined ? textEl("Email", "Read", email.read ? 1 : 0) : undefined,
    email.isDraft !== undefined ? textEl("Email2", "IsDraft", email.isDraft ? 1 : 0) : undefined,
    preview ? textEl(NS, "Preview", preview) : undefined,
    textEl(NS, "HasAttachments", (email.attachments?.length ?? 0) > 0 ? 1 : 0),
    email.from ? textEl("Email", "From", email.from) : undefined,
  ].filter((e): e is WbxmlElement => e !== undefined);
}

function previewOf(email: Email): string | undefined {
  const body = email.body;
  const text = body?.preview ?? (typeof body?.data === "string" ? body.data : undefined);
  if (!text) return undefined;
  const flat = text.replace(/\s+/g, " ").trim();
  return [...flat].slice(0, PREVIEW_CHARS).join("") || undefined;
}
