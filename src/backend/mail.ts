import type { Email, MeetingRequest } from "../eas/model/email.ts";
import type { FolderSource } from "./types.ts";

/**
 * One item as change detection sees it: backend id (the IMAP UID for mail),
 * a change token (what the device would need to be told about when it
 * differs: flags and keywords for mail) and its date (DateReceived) for the
 * FilterType window.
 */
export interface ItemState {
  id: string;
  token: string;
  /** Milliseconds since the epoch. */
  date: number;
}

/**
 * The result of looking at a folder. A full scan lists every item inside the
 * window; a delta scan (CONDSTORE/QRESYNC) lists only items changed since the
 * given cursor plus the ids that vanished. `reset` says the cursor belongs to
 * an earlier incarnation of the folder (UIDVALIDITY changed): every id the
 * device holds is void.
 */
export interface FolderScan {
  cursor: string;
  reset: boolean;
  full: boolean;
  items: ItemState[];
  vanished: string[];
}

/** A body preference of the device (MS-ASAIRS 2.2.2.8 BodyPreference, 2.2.2.11 BodyPartPreference). */
export interface BodyPreference {
  type: number;
  truncationSize?: number;
  allOrNone?: boolean;
  /** Characters of plain-text preview wanted (14.0+), 0 for none. */
  preview?: number;
}

/**
 * Reads the MeetingRequest of an iMIP text/calendar body (MS-ASEMAIL
 * 2.2.2.48), or undefined when it is no invitation or cancellation. The
 * calendar bridge owns iCalendar; the composition root hands its reader to
 * the mail bridge, so neither bridge imports the other.
 */
export type MeetingRequestReader = (ics: string) => MeetingRequest | undefined;

/** How an Email is converted for a device. */
export interface EmailOptions {
  /** Protocol version (2.5 uses the Email:Body forms). */
  version: string;
  bodyPreferences: BodyPreference[];
  bodyPartPreferences?: BodyPreference[];
  /** MIMESupport (MS-ASCMD 2.2.3.100.3): 0 never, 1 S/MIME only, 2 always MIME. */
  mimeSupport: number;
  /** 2.5: Truncation / MIMETruncation as byte limits (undefined = whole). */
  truncation25?: number;
  mimeTruncation25?: number;
  /** Only the changeable properties (read, flag, categories, last verb): for a server-side Change. */
  changeOnly?: boolean;
  /** The folder's ServerId, for FileReferences "<folder>:<uid>:<section>". */
  folderServerId: string;
}

/** A message fetched and converted, or the reason it could not be converted. */
export type FetchedEmail = { id: string; email: Email; state: ItemState } | { id: string; error: Error };

/** What a phone may change on a message (Sync Change, MS-ASCMD 2.2.3.24). */
export interface MailChange {
  read?: boolean;
  /** True sets \Flagged, false clears it. */
  flagged?: boolean;
  categories?: string[];
  /** LastVerbExecuted: 1/2 reply (\Answered), 3 forward ($Forwarded). */
  lastVerb?: number;
}

/** Bytes of one attachment (or of a whole message), streamed. */
export interface ContentStream {
  contentType: string;
  /** Decoded size in bytes. */
  size: number;
  /** The bytes in `[offset, offset + length)` (whole when omitted). */
  open(range?: { offset: number; length: number }): AsyncIterable<Uint8Array>;
}

/**
 * The mail side of a backend (MS-ASEMAIL objects over a mailstore). Item ids
 * are backend ids within the folder (IMAP UIDs); EAS ServerIds add the
 * folder's ServerId in front, in the commands.
 */
export interface MailBackend {
  readonly kind: "mail";
  /** A cheap fingerprint of the folder (UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT, MESSAGES): equal means unchanged. */
  folderCursor(folderKey: string): Promise<string>;
  /** Lists the folder's items since `since` (a delta against `cursor` when the server can). */
  scan(folderKey: string, since: Date | undefined, cursor: string | undefined): Promise<FolderScan>;
  /** Fetches and converts messages; ids that no longer exist are left out. */
  fetchEmails(folderKey: string, ids: string[], options: EmailOptions): AsyncIterable<FetchedEmail>;
  /** The raw RFC 5322 message, or undefined when it does not exist. */
  fetchMime(folderKey: string, id: string): Promise<ContentStream | undefined>;
  /** One MIME part by IMAP section, decoded, or undefined when missing. */
  fetchAttachment(folderKey: string, id: string, section: string): Promise<ContentStream | undefined>;
  /** Applies flag changes; the new state, or undefined when the message is gone. */
  changeMessage(folderKey: string, id: string, change: MailChange): Promise<ItemState | undefined>;
  /** Deletes a message (moves it to Trash unless `permanent`); false when it does not exist. */
  deleteMessage(folderKey: string, id: string, options: { permanent: boolean }): Promise<boolean>;
  /** Saves a draft (16.x drafts sync) into the folder. */
  addDraft(folderKey: string, email: Email): Promise<ItemState>;
  /**
   * Moves every message of a conversation (ConversationId as Sync sends it)
   * from the user's mail folders (not Sent, Drafts, Deleted Items, Outbox) to
   * the destination; the number moved.
   */
  moveConversation(conversationId: Uint8Array, destinationKey: string): Promise<number>;
  /**
   * Deletes every message of the folder (moved to Trash, permanently when the
   * folder is Trash itself); its subfolders too when asked.
   */
  emptyFolder(folderKey: string, options: { deleteSubfolders: boolean }): Promise<void>;
}

/** A folder source that also serves mail items. */
export type MailSource = FolderSource & MailBackend;

/** Whether a folder source serves mail items. */
export function isMailSource(source: FolderSource | undefined): source is MailSource {
  return !!source && (source as Partial<MailBackend>).kind === "mail";
}
