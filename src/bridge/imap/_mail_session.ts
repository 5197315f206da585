import type { ListedMailbox } from "./folder_mapping.ts";

/** One part of a BODYSTRUCTURE (RFC 3501 7.4.2), as the mail backend reads it. */
export interface StructurePart {
  /** IMAP section ("1", "2.1"; "" for the top multipart). */
  section: string;
  /** Lower-case MIME type and subtype. */
  type: string;
  subtype: string;
  params: Record<string, string>;
  id?: string;
  encoding: string;
  /** Encoded size in bytes. */
  size: number;
  disposition?: { type: string; params: Record<string, string> };
  parts?: StructurePart[];
}

/** A FETCH row reduced to what the mail backend uses. */
export interface MessageRow {
  uid: number;
  flags?: string[];
  internalDate?: Date;
  size?: number;
  structure?: StructurePart;
  /** Section literals by the item name the server wrote, upper-cased ("BODY[]", "BODY[1]<0>", "BINARY[2]"). */
  sections: Map<string, Uint8Array>;
  /** BINARY.SIZE[section] values by section. */
  binarySizes?: Map<string, number>;
}

/** What SELECT/EXAMINE reports (RFC 3501 6.3.1, RFC 7162 3.1.2). */
export interface SelectedMailbox {
  uidValidity: number;
  uidNext: number;
  exists: number;
  highestModSeq?: bigint;
}

/** What STATUS reports. */
export interface MailboxFingerprint {
  uidValidity: number;
  uidNext: number;
  messages: number;
  highestModSeq?: bigint;
}

/**
 * The IMAP operations the mail backend needs, on one connection of the pool.
 * `_mail_session_imap.ts` implements it over the project's IMAP client; the
 * backend's logic depends only on this.
 */
export interface MailSession {
  readonly condstore: boolean;
  readonly qresync: boolean;
  readonly move: boolean;
  readonly binary: boolean;
  list(): Promise<ListedMailbox[]>;
  /** SELECT (or EXAMINE when `readOnly`), with CONDSTORE when offered; reuses a current selection. */
  select(mailbox: string, readOnly: boolean): Promise<SelectedMailbox>;
  /**
   * Makes `mailbox` the selected one (EXAMINE) unless the connection still has it selected:
   * the FETCHes of one request's batches need no new round trip when nobody else selected
   * another mailbox on the shared connection in between.
   */
  keepSelected(mailbox: string): Promise<void>;
  status(mailbox: string): Promise<MailboxFingerprint>;
  /** UID FETCH; with `changedSince` (CONDSTORE) only rows changed since; `vanished` collects expunged UIDs (QRESYNC). */
  fetch(
    uids: string,
    items: string[],
    options?: { changedSince?: bigint; vanished?: (uids: number[]) => void },
  ): AsyncIterable<MessageRow>;
  store(uids: string, operation: "+FLAGS.SILENT" | "-FLAGS.SILENT", flags: string[]): Promise<void>;
  /** UID MOVE (RFC 6851), or COPY + \Deleted + UID EXPUNGE where MOVE is missing. */
  moveTo(uids: string, mailbox: string): Promise<void>;
  /** \Deleted + UID EXPUNGE of exactly these UIDs. */
  expunge(uids: string): Promise<void>;
  /** APPEND; the new UID when the server reports it (UIDPLUS APPENDUID). */
  append(mailbox: string, message: Uint8Array, flags: string[], date?: Date): Promise<number | undefined>;
  deleteMailbox(mailbox: string): Promise<void>;
}
