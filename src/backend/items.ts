/**
 * The interface of a folder source whose folders hold calendar, contact,
 * task or note items (the CalDAV/CardDAV bridge). Commands reach the bridge
 * only through it (ARCHITECTURE: commands never import bridges).
 */
import type { ModelObject } from "../eas/model/streamer.ts";
import type { SyncSource } from "../eas/sync/types.ts";
import type { BodyPreference } from "./mail.ts";
import type { FolderSource } from "./types.ts";

/** The key prefix of calendar, contacts, tasks and notes folders ("dav:<collection>#<component>"). */
export const ITEM_FOLDER_PREFIX = "dav:";

/** FilterType "incomplete tasks only" (MS-ASCMD 2.2.3.71.1), valid only in a Tasks collection. */
export const FILTER_INCOMPLETE_TASKS = 8;

/** The item class of a non-mail folder (MS-ASCMD 2.2.3.27 Class). */
export type ItemClass = "Calendar" | "Contacts" | "Tasks" | "Notes";

/** How a folder's items are written for the device. */
export interface ItemSyncOptions {
  bodyPreferences: readonly BodyPreference[];
  /** FilterType; 8 on a Tasks folder means incomplete tasks only (MS-ASCMD 2.2.3.71.1). */
  filterType: number;
}

/** An attendee's answer (RFC 5545 3.2.12 PARTSTAT). */
export type Partstat = "ACCEPTED" | "TENTATIVE" | "DECLINED";

/** The item answered is no invitation the user can answer (MeetingResponse Status 2). */
export class MeetingRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MeetingRequestError";
  }
}

/** One MeetingResponse: which invitation, the answer, and an optional new time (16.x COUNTER). */
export interface MeetingAnswer {
  /** The invitation: an iMIP text/calendar from mail, or a calendar item of one of this source's folders. */
  invitation: { ics: string } | { folderKey: string; itemId: string };
  partstat: Partstat;
  /** The user's addresses (lower case) besides the ones the source knows. */
  selfEmails: readonly string[];
  proposed?: { startMs: number; endMs: number };
  /** One occurrence of a recurring meeting (MS-ASCMD 2.2.3.92.1 InstanceId), by its start. */
  instanceMs?: number;
}

/** What answering did in the calendar and what to send the organizer. */
export interface MeetingAnswerResult {
  /** The calendar item now holding the meeting (absent when declined: it was removed). */
  calendar?: { folderKey: string; itemId: string };
  organizer: string;
  /** The user's address as the invitation names it (the reply's From). */
  self: string;
  summary: string;
  /** The iTIP message for the organizer (RFC 5546 REPLY or COUNTER). */
  reply: { method: "REPLY" | "COUNTER"; ics: string };
}

/** A source of calendar, contacts, tasks and notes folders with their folder operations. */
export interface ItemFolderSource extends FolderSource {
  readonly kind: "dav";
  /** The class of one of this source's folders, or undefined for a key it does not own. */
  folderClassOf(key: string): ItemClass | undefined;
  /** The sync engine's view of one folder. */
  syncSource(folderKey: string, options: ItemSyncOptions): SyncSource<ModelObject>;
  /** FolderCreate: resolves to the new folder's key. */
  createFolder(type: number, name: string): Promise<string>;
  /** FolderUpdate (a rename; these folders have no parents). */
  renameFolder(key: string, name: string): Promise<void>;
  /** FolderDelete: resolves to every folder key removed with it. */
  deleteFolder(key: string): Promise<string[]>;
  /**
   * MoveItems between two of this source's folders of the same class:
   * resolves to the item's id in the destination; MailFolderError
   * "not-found" for an unknown item, "parent-not-found" for a destination
   * of another kind, "refused" when the server refused or the item changed
   * meanwhile (nothing moved).
   */
  moveItem(fromKey: string, itemId: string, toKey: string): Promise<string>;
  /**
   * MeetingResponse: records the user's answer in the calendar (the event is
   * created when it is not there, removed when declined) and builds the
   * reply; throws MeetingRequestError for anything that is no invitation.
   */
  answerMeeting(answer: MeetingAnswer): Promise<MeetingAnswerResult>;
  /**
   * An iMIP message arrived in the user's mail: a REQUEST is placed in the
   * calendar as not answered (shown tentative) or replaces an older version
   * (higher SEQUENCE); a CANCEL from the organizer marks the event canceled;
   * a REPLY to a meeting the user organizes updates that attendee's answer.
   * Idempotent, as every device's Inbox sync reports the same mail.
   */
  placeInvitation(ics: string, selfEmails: readonly string[]): Promise<InvitationPlacement>;
}

/** What placeInvitation did. */
export type InvitationPlacement = "placed" | "updated" | "cancelled" | "unchanged";

/** Whether a folder source serves calendar, contacts, tasks and notes folders. */
export function isItemFolderSource(source: FolderSource | undefined): source is ItemFolderSource {
  return !!source && (source as Partial<ItemFolderSource>).kind === "dav" &&
    typeof (source as Partial<ItemFolderSource>).syncSource === "function";
}
