/**
 * The DAV folder source ("dav:" keys) and its item collections. Folder keys
 * are `dav:<collection href>#<component>` (VEVENT, VTODO, VJOURNAL, VCARD):
 * one CalDAV collection that holds events and tasks shows as a Calendar and
 * a Tasks folder. Change detection uses sync-collection (RFC 6578) with the
 * stored token, else a PROPFIND ETag listing compared with the stored one;
 * only changed resources are fetched (multiget). Writes carry If-Match /
 * If-None-Match so a concurrent desktop edit is never overwritten: a 412 is
 * a Sync conflict and the server's version wins.
 */
import type { FolderScan, ItemState } from "../../backend/mail.ts";
import { MailFolderError } from "../../backend/mail_operations.ts";
import {
  FILTER_INCOMPLETE_TASKS,
  type InvitationPlacement,
  type ItemClass,
  type ItemFolderSource,
  type ItemSyncOptions,
  type MeetingAnswer,
  type MeetingAnswerResult,
  MeetingRequestError,
} from "../../backend/items.ts";
import { type BackendFolder, BackendUnavailableError, type FolderSource } from "../../backend/types.ts";
import { FOLDER_TYPE, folderClass, type FolderType } from "../../eas/protocol/folder_types.ts";
import { EasStatusError } from "../../eas/protocol/errors.ts";
import { SYNC_STATUS } from "../../eas/sync/status.ts";
import type { SourceItem, SyncSource } from "../../eas/sync/types.ts";
import type { ModelObject } from "../../eas/model/streamer.ts";
import type { DavStateRepository } from "../../store/dav_state.ts";
import { escapeXml, kid, kids, NS } from "./_xml.ts";
import {
  DavClient,
  type DavHomes,
  DavPreconditionError,
  DavRefusedError,
  type DavResponse,
  DavServerError,
  DavSyncTokenError,
  propKey,
} from "./dav_client.ts";
import {
  appointmentFromIcs,
  eventParts,
  icsFromAppointment,
  lastOccurrenceEnd,
  uidOfIcs,
} from "./event_map.ts";
import { icsFromNote, icsFromTask, noteFromIcs, taskFromIcs } from "./todo_map.ts";
import { contactFromVcardAsync, vcardFromContactAsync } from "./vcard_map.ts";
import { parseComponents, prop, text } from "./ical.ts";
import {
  answeredEvent,
  answeredOccurrence,
  cancelledEvent,
  clientScheduled,
  NEEDS_ACTION,
  readInvitation,
  repliedEvent,
  replyCalendar,
  sequenceOf,
} from "./itip.ts";

/** The component a DAV folder holds. */
export type DavComponent = "VEVENT" | "VTODO" | "VJOURNAL" | "VCARD";

/** Default and user folder types per component (MS-ASCMD 2.2.3.186.3). */
export const DAV_FOLDER_TYPES: Readonly<Record<DavComponent, [FolderType, FolderType]>> = {
  VEVENT: [FOLDER_TYPE.Calendar, FOLDER_TYPE.UserCalendar],
  VTODO: [FOLDER_TYPE.Tasks, FOLDER_TYPE.UserTasks],
  VJOURNAL: [FOLDER_TYPE.Notes, FOLDER_TYPE.UserNotes],
  VCARD: [FOLDER_TYPE.Contacts, FOLDER_TYPE.UserContacts],
};

/** The last path segment of a collection FolderCreate made (`<home>/<uuid>/`). */
const UUID_SEGMENT = /\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/?$/i;

/** Resources fetched per multiget REPORT. */
export const MULTIGET_CHUNK = 50;

/** The prefix of DAV folder keys. */
export const DAV_PREFIX = "dav:";

/** Splits a folder key into collection href and component; undefined when it is not a DAV key. */
export function parseDavKey(key: string): { href: string; component: DavComponent } | undefined {
  const m = /^dav:(.+)#(VEVENT|VTODO|VJOURNAL|VCARD)$/.exec(key);
  return m ? { href: m[1]!, component: m[2] as DavComponent } : undefined;
}

/** A collection as listed from a home set. */
export interface DavCollection {
  href: string;
  displayName: string;
  components: DavComponent[];
  syncToken: string;
  ctag: string;
}

/** What the backend needs besides the client. */
export interface DavBackendOptions {
  client: DavClient;
  state: DavStateRepository;
  /** State key of the user. */
  user: string;
  /** The user's addresses, lower case (organizer vs attendee). */
  selfEmails: () => Promise<string[]>;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

/** The DAV side of a user's backend: folder source, item collections, folder operations. */
export class DavBackend implements ItemFolderSource {
  readonly prefix = DAV_PREFIX;
  readonly kind = "dav";
  readonly #o: DavBackendOptions;
  #homes: Promise<DavHomes> | undefined;

  constructor(options: DavBackendOptions) {
    this.#o = options;
  }

  /** The user's home sets (discovered once per backend instance). */
  homes(): Promise<DavHomes> {
    this.#homes ??= this.#o.client.discover().catch((error) => {
      this.#homes = undefined;
      throw error;
    });
    return this.#homes;
  }

  /** Every calendar and address book collection of the user. */
  async collections(): Promise<DavCollection[]> {
    const homes = await this.homes();
    const out: DavCollection[] = [];
    for (const home of [...homes.calendarHomes, ...homes.addressbookHomes]) {
      const responses = await this.#o.client.propfind(home, [
        [NS.DAV, "resourcetype"],
        [NS.DAV, "displayname"],
        [NS.CALDAV, "supported-calendar-component-set"],
        [NS.DAV, "sync-token"],
        [NS.CS, "getctag"],
      ], 1);
      for (const r of responses) {
        const type = r.props.get(propKey(NS.DAV, "resourcetype"));
        let components: DavComponent[] = [];
        if (kid(type, NS.CALDAV, "calendar")) {
          const set = kids(
            r.props.get(propKey(NS.CALDAV, "supported-calendar-component-set")),
            NS.CALDAV,
            "comp",
          )
            .map((c) => (c.attributes.name ?? "").toUpperCase());
          components = (set.length ? set : ["VEVENT", "VTODO"]).filter((c): c is DavComponent =>
            c === "VEVENT" || c === "VTODO" || c === "VJOURNAL"
          );
        } else if (kid(type, NS.CARDDAV, "addressbook")) components = ["VCARD"];
        if (!components.length || out.some((c) => c.href === r.href)) continue;
        out.push({
          href: r.href,
          displayName: r.props.get(propKey(NS.DAV, "displayname"))?.text.trim() || lastSegment(r.href),
          components,
          syncToken: r.props.get(propKey(NS.DAV, "sync-token"))?.text.trim() ?? "",
          ctag: r.props.get(propKey(NS.CS, "getctag"))?.text.trim() ?? "",
        });
      }
    }
    return out;
  }

  /**
   * FolderSync: one folder per collection and component. The default folder
   * of each component is chosen in a stable order (PROPFIND order is not):
   * named collections before the ones FolderCreate made (UUID names), then
   * by href, so a calendar created on the phone never takes the default's
   * place.
   */
  async listFolders(): Promise<BackendFolder[]> {
    const folders: BackendFolder[] = [];
    const seen = new Set<DavComponent>();
    const rank = (c: DavCollection) => (UUID_SEGMENT.test(c.href) ? "1" : "0") + c.href;
    const ordered = (await this.collections()).sort((a, b) =>
      rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0
    );
    for (const c of ordered) {
      for (const component of c.components) {
        const [main, user] = DAV_FOLDER_TYPES[component];
        folders.push({
          key: `${DAV_PREFIX}${c.href}#${component}`,
          parentKey: null,
          displayName: c.displayName,
          type: seen.has(component) ? user : main,
        });
        seen.add(component);
      }
    }
    return folders;
  }

  /** The item class of a DAV folder key (from its component), or undefined for another key. */
  folderClassOf(key: string): ItemClass | undefined {
    const parsed = parseDavKey(key);
    return parsed ? folderClass(DAV_FOLDER_TYPES[parsed.component][0]) as ItemClass : undefined;
  }

  /** The sync engine's view of one DAV folder. */
  syncSource(folderKey: string, options: DavSyncOptions): SyncSource<ModelObject> {
    const parsed = parseDavKey(folderKey);
    if (!parsed) {
      throw new EasStatusError(
        SYNC_STATUS.FolderHierarchyChanged,
        `Folder '${folderKey}' is not a DAV folder`,
      );
    }
    return new DavCollectionSource(
      this.#o,
      folderKey,
      parsed.href,
      parsed.component,
      options,
      (ics) => this.#scheduled(ics),
    );
  }

  /**
   * FolderCreate of a Calendar/Contacts/Tasks/Notes folder: MKCALENDAR (with
   * the component set) or extended MKCOL of an address book under the first
   * home set, then the display name. Resolves to the new folder's key.
   */
  async createFolder(type: number, name: string): Promise<string> {
    const component = (Object.entries(DAV_FOLDER_TYPES) as [DavComponent, [number, number]][])
      .find(([, types]) => types.includes(type))?.[0];
    if (!component) throw new MailFolderError("refused", `Folder type '${type}' is not a DAV folder type`);
    const homes = await this.homes();
    const home = component === "VCARD" ? homes.addressbookHomes[0] : homes.calendarHomes[0];
    if (!home) throw new MailFolderError("refused", "The DAV server offers no home for this folder type");
    if ((await this.collections()).some((c) => c.displayName === name && c.components.includes(component))) {
      throw new MailFolderError("exists", `A folder named '${name}' exists`);
    }
    const href = `${home.endsWith("/") ? home : `${home}/`}${crypto.randomUUID()}/`;
    const displayName = `<d:displayname>${escapeXml(name)}</d:displayname>`;
    try {
      if (component === "VCARD") {
        await this.#o.client.mutate(
          "MKCOL",
          href,
          `<?xml version="1.0" encoding="utf-8"?><d:mkcol xmlns:d="DAV:" xmlns:c="${NS.CARDDAV}"><d:set><d:prop><d:resourcetype><d:collection/><c:addressbook/></d:resourcetype>${displayName}</d:prop></d:set></d:mkcol>`,
        );
      } else {
        await this.#o.client.mutate(
          "MKCALENDAR",
          href,
          `<?xml version="1.0" encoding="utf-8"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="${NS.CALDAV}"><d:set><d:prop>${displayName}<c:supported-calendar-component-set><c:comp name="${component}"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>`,
        );
      }
    } catch (error) {
      if (error instanceof DavRefusedError) throw new MailFolderError("refused", error.message, error);
      throw error;
    }
    return `${DAV_PREFIX}${href}#${component}`;
  }

  /** FolderUpdate: PROPPATCH of the display name (DAV collections have no parents to move between). */
  async renameFolder(key: string, name: string): Promise<void> {
    const parsed = parseDavKey(key);
    if (!parsed) throw new MailFolderError("not-found", `Folder '${key}' is not a DAV folder`);
    try {
      await this.#o.client.mutate(
        "PROPPATCH",
        parsed.href,
        `<?xml version="1.0" encoding="utf-8"?><d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>${
          escapeXml(name)
        }</d:displayname></d:prop></d:set></d:propertyupdate>`,
      );
    } catch (error) {
      if (error instanceof DavRefusedError) {
        throw new MailFolderError(error.status === 404 ? "not-found" : "refused", error.message, error);
      }
      throw error;
    }
  }

  /** FolderDelete: DELETE of the collection (every component folder of it goes). Resolves to the keys removed. */
  async deleteFolder(key: string): Promise<string[]> {
    const parsed = parseDavKey(key);
    if (!parsed) throw new MailFolderError("not-found", `Folder '${key}' is not a DAV folder`);
    const collection = (await this.collections()).find((c) => c.href === parsed.href);
    try {
      if (!(await this.#o.client.delete(parsed.href))) {
        throw new MailFolderError("not-found", `Folder '${key}' does not exist`);
      }
    } catch (error) {
      if (error instanceof DavRefusedError) throw new MailFolderError("refused", error.message, error);
      throw error;
    }
    const keys = (collection?.components ?? [parsed.component]).map((c) =>
      `${DAV_PREFIX}${parsed.href}#${c}`
    );
    for (const k of keys) this.#o.state.forget(this.#o.user, k);
    return keys;
  }

  /**
   * MoveItems of an item between two folders of the same component
   * (MS-ASCMD 2.2.1.12). DAV has no MOVE a server must support across
   * collections, so the resource is written into the destination under its
   * name and UID with If-None-Match (nothing there is overwritten; a name
   * taken there gets a new one), then deleted from the source with If-Match:
   * a desktop edit made in between fails the move and the copy is removed
   * again, so the edit is neither lost nor doubled. Resolves to the item's id
   * in the destination.
   */
  async moveItem(fromKey: string, itemId: string, toKey: string): Promise<string> {
    const from = parseDavKey(fromKey);
    const to = parseDavKey(toKey);
    if (!from || !to || from.component !== to.component) {
      throw new MailFolderError("parent-not-found", `Folder '${toKey}' does not hold the same kind of items`);
    }
    const known = this.#o.state.item(this.#o.user, fromKey, itemId);
    const got = known ? await this.#o.client.get(known.href) : undefined;
    if (!known || !got) throw new MailFolderError("not-found", `Item '${itemId}' does not exist`);
    const source = this.#source(fromKey);
    const target = this.#source(toKey);
    const data = from.component === "VEVENT" ? await this.#scheduled(got.data) : got.data;
    const ext = from.component === "VCARD" ? "vcf" : "ics";
    const name = known.href.split("/").at(-1) || `${crypto.randomUUID()}.${ext}`;
    const base = to.href.endsWith("/") ? to.href : `${to.href}/`;
    let written: ItemState;
    try {
      written = await target.store(`${base}${name}`, data, "");
    } catch (error) {
      // The name is taken in the destination (412 on If-None-Match): the same item under a new name.
      if (!(error instanceof EasStatusError && error.status === SYNC_STATUS.Conflict)) {
        throw moveFailure(error);
      }
      written = await target.store(`${base}${crypto.randomUUID()}.${ext}`, data, "").catch((e) => {
        throw moveFailure(e);
      });
    }
    try {
      await source.removeHref(known.href, got.etag);
    } catch (error) {
      const copy = this.#o.state.item(this.#o.user, toKey, written.id);
      if (copy) await target.removeHref(copy.href, copy.etag).catch(() => false);
      throw moveFailure(error);
    }
    return written.id;
  }

  /**
   * MeetingResponse in CalDAV: the stored event (found by UID in any
   * calendar) gets the user's PARTSTAT, or the invitation is stored in the
   * default calendar when it is not there yet; a declined meeting is
   * removed. Writes carry the ETag, so a concurrent desktop edit is not lost.
   */
  async answerMeeting(answer: MeetingAnswer): Promise<MeetingAnswerResult> {
    const selfEmails = [...new Set([...(await this.#o.selfEmails()), ...answer.selfEmails])]
      .map((e) => e.toLowerCase());
    let ics: string;
    let found: { key: string; href: string; etag: string; data: string } | undefined;
    if ("ics" in answer.invitation) {
      ics = answer.invitation.ics;
    } else {
      const { folderKey, itemId } = answer.invitation;
      const item = parseDavKey(folderKey)?.component === "VEVENT"
        ? this.#o.state.item(this.#o.user, folderKey, itemId)
        : undefined;
      const got = item ? await this.#o.client.get(item.href) : undefined;
      if (!item || !got) throw new MeetingRequestError(`Calendar item '${itemId}' does not exist`);
      ics = got.data;
      found = { key: folderKey, href: item.href, etag: got.etag, data: got.data };
    }
    const invitation = readInvitation(ics, selfEmails);
    found ??= invitation.uid ? await this.#findEvent(invitation.uid) : undefined;
    const replyOptions = {
      now: Date.now(),
      prodId: ITIP_PRODID,
      ...(answer.proposed ? { proposed: answer.proposed } : {}),
    };
    const result: MeetingAnswerResult = {
      organizer: invitation.organizer,
      self: invitation.self,
      summary: invitation.summary,
      reply: replyCalendar(ics, invitation.self, answer.partstat, replyOptions),
    };
    if (answer.instanceMs !== undefined) {
      // One occurrence: its override carries the answer (a declined one stays, marked declined).
      if (!found) throw new MeetingRequestError("The meeting is not in the calendar");
      const one = answeredOccurrence(found.data, invitation.self, answer.partstat, answer.instanceMs);
      const state = await this.#source(found.key).store(
        found.href,
        await this.#scheduled(one.ics),
        found.etag,
      );
      result.reply = replyCalendar(one.ics, invitation.self, answer.partstat, {
        ...replyOptions,
        recurrenceId: one.recurrenceId,
      });
      result.calendar = { folderKey: found.key, itemId: state.id };
      return result;
    }
    if (answer.partstat === "DECLINED") {
      if (found) await this.#source(found.key).removeHref(found.href, found.etag);
      return result;
    }
    if (found) {
      const data = await this.#scheduled(answeredEvent(found.data, invitation.self, answer.partstat));
      const state = await this.#source(found.key).store(found.href, data, found.etag);
      result.calendar = { folderKey: found.key, itemId: state.id };
      return result;
    }
    const key = (await this.listFolders()).find((f) => f.type === FOLDER_TYPE.Calendar)?.key;
    const parsed = key ? parseDavKey(key) : undefined;
    if (!key || !parsed) {
      throw new BackendUnavailableError("The DAV server offers no calendar for the meeting");
    }
    const data = await this.#scheduled(answeredEvent(ics, invitation.self, answer.partstat));
    const state = await this.#source(key).store(newHref(parsed.href), data, "");
    result.calendar = { folderKey: key, itemId: state.id };
    return result;
  }

  async placeInvitation(ics: string, selfEmails: readonly string[]): Promise<InvitationPlacement> {
    const selves = [...new Set([...(await this.#o.selfEmails()), ...selfEmails])].map((e) => e.toLowerCase());
    const method = (/^METHOD:([A-Za-z-]+)/im.exec(ics)?.[1] ?? "").toUpperCase();
    const uid = uidOfIcs(ics);
    if (!uid) return "unchanged";
    const found = await this.#findEvent(uid);
    if (method === "CANCEL") {
      if (!found) return "unchanged";
      const cancelled = cancelledEvent(found.data, ics);
      if (!cancelled || cancelled === found.data) return "unchanged";
      await this.#source(found.key).store(found.href, await this.#scheduled(cancelled), found.etag);
      return "cancelled";
    }
    if (method === "REPLY") {
      // An attendee answered a meeting the user organizes: their PARTSTAT goes into the organizer's copy.
      const replied = found ? repliedEvent(found.data, ics, selves) : undefined;
      if (!found || !replied) return "unchanged";
      await this.#source(found.key).store(found.href, await this.#scheduled(replied), found.etag);
      return "updated";
    }
    if (method !== "REQUEST") return "unchanged";
    let invitation;
    try {
      invitation = readInvitation(ics, selves);
    } catch (error) {
      if (error instanceof MeetingRequestError) return "unchanged";
      throw error;
    }
    const data = await this.#scheduled(answeredEvent(ics, invitation.self, NEEDS_ACTION));
    if (found) {
      // A newer version of the meeting (RFC 5546 2.1.4): it replaces the stored one and asks for an answer again.
      if (sequenceOf(ics) <= sequenceOf(found.data)) return "unchanged";
      await this.#source(found.key).store(found.href, data, found.etag);
      return "updated";
    }
    const key = (await this.listFolders()).find((f) => f.type === FOLDER_TYPE.Calendar)?.key;
    const parsed = key ? parseDavKey(key) : undefined;
    if (!key || !parsed) return "unchanged";
    await this.#source(key).store(newHref(parsed.href), data, "");
    return "placed";
  }

  /** With a scheduling CalDAV server (RFC 6638 outbox discovered), meetings we write are client-scheduled. */
  async #scheduled(ics: string): Promise<string> {
    return (await this.homes()).scheduleOutbox ? clientScheduled(ics) : ics;
  }

  #source(key: string): DavCollectionSource {
    const parsed = parseDavKey(key)!;
    return new DavCollectionSource(
      this.#o,
      key,
      parsed.href,
      parsed.component,
      { bodyPreferences: [], filterType: 0 },
      (ics) => this.#scheduled(ics),
    );
  }

  /** The event with this UID in any of the user's calendars (CalDAV calendar-query, RFC 4791 7.8). */
  async #findEvent(
    uid: string,
  ): Promise<{ key: string; href: string; etag: string; data: string } | undefined> {
    for (const c of await this.collections()) {
      if (!c.components.includes("VEVENT")) continue;
      const responses = await this.#o.client.report(
        c.href,
        `<?xml version="1.0" encoding="utf-8"?><c:calendar-query xmlns:d="DAV:" xmlns:c="${NS.CALDAV}"><d:prop><d:getetag/><c:calendar-data/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:prop-filter name="UID"><c:text-match collation="i;octet">${
          escapeXml(uid)
        }</c:text-match></c:prop-filter></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`,
      );
      for (const r of responses) {
        const data = r.props.get(propKey(NS.CALDAV, "calendar-data"))?.text;
        if (r.status < 300 && data !== undefined) {
          return { key: `${DAV_PREFIX}${c.href}#VEVENT`, href: r.href, etag: etagOf(r), data };
        }
      }
    }
    return undefined;
  }
}

/** A refused write during a move as the MoveItems handler understands it (Status 5, the phone may retry). */
function moveFailure(error: unknown): unknown {
  if (error instanceof EasStatusError) return new MailFolderError("refused", error.message, error);
  return error;
}

/** PRODID of the iTIP messages the box writes (RFC 5545 3.7.3). */
export const ITIP_PRODID = "-//Pushbridge//MeetingResponse//EN";

/** Whether a folder source is the DAV backend. */
export function isDavBackend(source: FolderSource | undefined): source is DavBackend {
  return source instanceof DavBackend;
}

/** How a DAV folder's items are written for the device. */
export type DavSyncOptions = ItemSyncOptions;

/** A new resource name in a collection. */
function newHref(collection: string): string {
  return `${collection.endsWith("/") ? collection : `${collection}/`}${crypto.randomUUID()}.ics`;
}

function lastSegment(href: string): string {
  return decodeURIComponent(href.replace(/\/$/, "").split("/").at(-1) ?? href);
}

const FAR_FUTURE = 8_000_000_000_000;

class DavCollectionSource implements SyncSource<ModelObject> {
  constructor(
    readonly o: DavBackendOptions,
    readonly key: string,
    readonly href: string,
    readonly component: DavComponent,
    readonly options: DavSyncOptions,
    /** Prepares a meeting for a scheduling server (SCHEDULE-AGENT=CLIENT); identity without one. */
    readonly scheduled: (ics: string) => Promise<string> = (ics) => Promise.resolve(ics),
  ) {}

  get isCard() {
    return this.component === "VCARD";
  }

  /**
   * "sync-token|ctag": the same string the Direct Push probe reads
   * (dav_probe.ts), so a Sync marks what it delivered as seen and the phone's
   * next Ping does not wake for it. The FilterType is not part of it: the
   * sync engine tags its stored cursor with the filter window itself.
   */
  async cursor(): Promise<string> {
    const [r] = await this.o.client.propfind(this.href, [[NS.DAV, "sync-token"], [NS.CS, "getctag"]], 0);
    const token = r?.props.get(propKey(NS.DAV, "sync-token"))?.text.trim() ?? "";
    const ctag = r?.props.get(propKey(NS.CS, "getctag"))?.text.trim() ?? "";
    return `${token}|${ctag}`;
  }

  async scan(since: Date | undefined): Promise<FolderScan> {
    const cursor = await this.cursor();
    const [token, ctag] = cursor.split("|") as [string, string];
    const stored = this.o.state.cursor(this.o.user, this.key);
    const known = new Map(this.o.state.items(this.o.user, this.key).map((i) => [i.href, i]));
    let changed: { href: string; etag: string }[] = [];
    let removed: string[] = [];
    let incremental = false;
    if (token && stored?.syncToken) {
      try {
        const responses = await this.o.client.report(
          this.href,
          `<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>${
            escapeXml(stored.syncToken)
          }</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`,
        );
        for (const r of responses) {
          if (r.href.replace(/\/$/, "") === this.href.replace(/\/$/, "")) continue;
          if (r.status === 404) removed.push(r.href);
          else changed.push({ href: r.href, etag: etagOf(r) });
        }
        incremental = true;
      } catch (error) {
        // An unknown token: RFC 6578 3.2 says 403 valid-sync-token, Xandikos 0.2 answers 500 (its
        // tokens are git commits, gone when the collection is recreated or restored). Either way the
        // full listing below is correct; when the server is really down it fails as well.
        if (!(error instanceof DavSyncTokenError || error instanceof DavServerError)) throw error;
        this.o.log?.("dav.sync_token_refused", { collection: this.href, error: error.message });
      }
    }
    if (!incremental && !(stored && ctag && stored.ctag === ctag && !token)) {
      const listing =
        (await this.o.client.propfind(this.href, [[NS.DAV, "getetag"], [NS.DAV, "resourcetype"]], 1))
          .filter((r) => r.href.replace(/\/$/, "") !== this.href.replace(/\/$/, "") && !r.href.endsWith("/"));
      const present = new Set(listing.map((r) => r.href));
      changed = listing.map((r) => ({ href: r.href, etag: etagOf(r) }));
      removed = [...known.keys()].filter((h) => !present.has(h));
    }
    const fetchHrefs = changed.filter((c) => known.get(c.href)?.etag !== c.etag || !c.etag).map((c) =>
      c.href
    );
    const upserts = [];
    for await (const got of this.#multiget(fetchHrefs)) {
      upserts.push({ href: got.href, etag: got.etag, ...this.#describe(got.href, got.data) });
    }
    this.o.state.apply(this.o.user, this.key, {
      upserts,
      removedHrefs: removed,
      cursor: { syncToken: token, ctag },
    });
    const limit = since?.getTime() ?? -Infinity;
    const items: ItemState[] = this.o.state.items(this.o.user, this.key)
      .filter((i) => i.date >= 0 && i.date >= limit)
      .filter((i) =>
        !(this.options.filterType === FILTER_INCOMPLETE_TASKS && this.component === "VTODO" && i.complete)
      )
      .map((i) => ({ id: i.id, token: i.etag, date: Math.min(i.date, FAR_FUTURE) }));
    return { cursor, reset: false, full: true, items, vanished: [] };
  }

  /** UID, window date and completion of a fetched resource; date -1 marks a resource of another component. */
  #describe(href: string, data: string): { uid: string; date: number; complete: boolean } {
    try {
      if (this.isCard) {
        const card = parseComponents(data).find((c) => c.name === "VCARD");
        return { uid: card ? text(card, "UID") ?? "" : "", date: Date.now(), complete: false };
      }
      const calendar = parseComponents(data).find((c) => c.name === "VCALENDAR");
      const main = calendar?.components.find((c) => c.name === this.component);
      if (!main) return { uid: "", date: -1, complete: false };
      const uid = text(main, "UID") ?? "";
      if (this.component === "VEVENT") {
        return { uid, date: lastOccurrenceEnd(eventParts(data)), complete: false };
      }
      const complete = text(main, "STATUS")?.toUpperCase() === "COMPLETED" || !!prop(main, "COMPLETED");
      return { uid, date: FAR_FUTURE, complete };
    } catch (error) {
      // Kept with its ETag so it is not fetched again until it changes; the conversion reports it.
      this.o.log?.("dav.item_unreadable", { href, error: (error as Error).message });
      return { uid: "", date: Date.now(), complete: false };
    }
  }

  async *#multiget(hrefs: string[]): AsyncGenerator<{ href: string; etag: string; data: string }> {
    const [ns, report, dataTag] = this.isCard
      ? [NS.CARDDAV, "addressbook-multiget", "address-data"]
      : [NS.CALDAV, "calendar-multiget", "calendar-data"];
    for (let i = 0; i < hrefs.length; i += MULTIGET_CHUNK) {
      const chunk = hrefs.slice(i, i + MULTIGET_CHUNK);
      const body =
        `<?xml version="1.0" encoding="utf-8"?><x:${report} xmlns:d="DAV:" xmlns:x="${ns}"><d:prop><d:getetag/><x:${dataTag}/></d:prop>${
          chunk.map((h) => `<d:href>${escapeXml(encodeURI(h))}</d:href>`).join("")
        }</x:${report}>`;
      for (const r of await this.o.client.report(this.href, body)) {
        const data = r.props.get(propKey(ns, dataTag))?.text;
        if (r.status < 300 && data !== undefined) yield { href: r.href, etag: etagOf(r), data };
      }
    }
  }

  async #read(href: string, data: string, selfEmails: string[]): Promise<ModelObject> {
    const prefs = this.options.bodyPreferences;
    switch (this.component) {
      case "VEVENT":
        return appointmentFromIcs(data, { selfEmails, bodyPreferences: prefs });
      case "VTODO":
        return taskFromIcs(data, prefs);
      case "VJOURNAL":
        return noteFromIcs(data, prefs);
      case "VCARD": {
        // A large PHOTO is resized in the photo worker: the event loop keeps serving meanwhile.
        const read = await contactFromVcardAsync(data, prefs);
        // The contact still syncs, without the picture (MS-ASCNTC 2.2.2.58 bounds it; see image/limits.ts).
        if (read.photoLeftOut) this.o.log?.("dav.photo_left_out", { href, reason: read.photoLeftOut });
        return read.contact;
      }
    }
  }

  async #write(item: ModelObject, stored: string | undefined): Promise<string> {
    const selfEmails = await this.o.selfEmails();
    switch (this.component) {
      case "VEVENT":
        // The phone sends its own invitations (MS-ASCMD 4.16): a scheduling server must not send them again.
        return await this.scheduled(
          icsFromAppointment(item, stored, {
            selfEmails,
            ...(selfEmails[0] ? { selfEmail: selfEmails[0] } : {}),
          }).ics,
        );
      case "VTODO":
        return icsFromTask(item, stored).ics;
      case "VJOURNAL":
        return icsFromNote(item, stored).ics;
      case "VCARD":
        return (await vcardFromContactAsync(item, stored)).vcf;
    }
  }

  async *fetch(ids: string[]): AsyncIterable<SourceItem<ModelObject>> {
    const byHref = new Map<string, { id: string; date: number }>();
    for (const id of ids) {
      const item = this.o.state.item(this.o.user, this.key, id);
      if (item) byHref.set(item.href, { id, date: item.date });
    }
    const selfEmails = await this.o.selfEmails();
    for await (const got of this.#multiget([...byHref.keys()])) {
      const known = byHref.get(got.href);
      if (!known) continue;
      try {
        yield {
          id: known.id,
          item: await this.#read(got.href, got.data, selfEmails),
          state: { id: known.id, token: got.etag, date: Math.min(known.date, FAR_FUTURE) },
        };
      } catch (error) {
        yield { id: known.id, error: error as Error };
      }
    }
  }

  async add(item: ModelObject): Promise<ItemState> {
    const data = await this.#write(item, undefined);
    const href = `${this.href.endsWith("/") ? this.href : `${this.href}/`}${crypto.randomUUID()}.${
      this.isCard ? "vcf" : "ics"
    }`;
    const etag = await this.#put(href, data, "");
    return this.#remember(href, etag || (await this.o.client.get(href))?.etag || "", data);
  }

  async change(id: string, item: ModelObject): Promise<ItemState | undefined> {
    const known = this.o.state.item(this.o.user, this.key, id);
    if (!known) return undefined;
    const current = await this.o.client.get(known.href);
    if (!current) return undefined;
    const data = await this.#write(item, current.data);
    const etag = await this.#put(known.href, data, current.etag || known.etag);
    return this.#remember(known.href, etag || (await this.o.client.get(known.href))?.etag || "", data);
  }

  async remove(id: string): Promise<boolean> {
    const known = this.o.state.item(this.o.user, this.key, id);
    return known ? await this.removeHref(known.href, known.etag) : false;
  }

  /** Writes a resource this backend composed (a meeting answer) and records it; If-Match `etag` ("" creates). */
  async store(href: string, data: string, etag: string): Promise<ItemState> {
    const written = await this.#put(href, data, etag);
    return this.#remember(href, written || (await this.o.client.get(href))?.etag || "", data);
  }

  /** Deletes a resource with If-Match and forgets it; false when it was gone already. */
  async removeHref(href: string, etag: string): Promise<boolean> {
    let gone: boolean;
    try {
      gone = await this.o.client.delete(href, etag);
    } catch (error) {
      if (error instanceof DavPreconditionError) {
        throw new EasStatusError(SYNC_STATUS.Conflict, error.message);
      }
      throw error;
    }
    this.o.state.apply(this.o.user, this.key, { upserts: [], removedHrefs: [href] });
    return gone;
  }

  async #put(href: string, data: string, etag: string): Promise<string> {
    try {
      return await this.o.client.put(href, data, this.isCard ? "text/vcard" : "text/calendar", etag);
    } catch (error) {
      // Changed on the server meanwhile (a desktop edit): the server wins, the device gets its version.
      if (error instanceof DavPreconditionError) {
        throw new EasStatusError(SYNC_STATUS.Conflict, error.message);
      }
      if (error instanceof DavRefusedError) throw new EasStatusError(SYNC_STATUS.ServerError, error.message);
      throw error;
    }
  }

  #remember(href: string, etag: string, data: string): ItemState {
    const described = this.#describe(href, data);
    const ids = this.o.state.apply(this.o.user, this.key, {
      upserts: [{ href, etag, ...described }],
      removedHrefs: [],
    });
    const id = ids.get(href)!;
    return { id, token: etag, date: Math.min(described.date, FAR_FUTURE) };
  }
}

function etagOf(r: DavResponse): string {
  return r.props.get(propKey(NS.DAV, "getetag"))?.text.trim() ?? "";
}
