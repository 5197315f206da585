/**
 * Mail operations beyond sync that commands need: reading an original for
 * SmartReply/SmartForward, flagging it, saving to Sent, moving messages and
 * changing the folder hierarchy. Folder arguments are backend keys
 * ("imap:<mailbox>"), never phone ids: commands resolve ids through
 * store.folders.backendKeyOf(user, id) first.
 */
export interface MailOperations {
  /** The whole message (RFC 5322 bytes) without setting \Seen, or undefined when it does not exist. */
  fetchMessage(folderKey: string, uid: number): Promise<Uint8Array | undefined>;
  /** Adds a flag (\Answered after a reply, $Forwarded after a forward) to one message. */
  addFlag(folderKey: string, uid: number, flag: string): Promise<void>;
  /** Appends a sent message (flagged \Seen) to the user's Sent folder; false when there is none. */
  saveToSent(message: Uint8Array): Promise<boolean>;
  /** Whether the Sent folder holds a message with this Message-ID header (crash recovery of a send). */
  sentContains(messageId: string): Promise<boolean>;
  /**
   * Moves one message; resolves to its UID in the destination, or undefined
   * when the server moved it without telling the new UID (no UIDPLUS).
   * Throws MailFolderError("not-found") when the source message is gone.
   */
  moveMessage(fromKey: string, uid: number, toKey: string): Promise<number | undefined>;
  /** Creates `name` under `parentKey` (null: top level); resolves to the new folder's key. */
  createFolder(parentKey: string | null, name: string): Promise<string>;
  /**
   * Renames and/or moves a folder under a new parent (null: top level).
   * Resolves to every key that changed, the folder's and its descendants',
   * as [old, new] pairs, so their phone ids can be kept.
   */
  renameFolder(key: string, newParentKey: string | null, newName: string): Promise<[string, string][]>;
  /** Deletes a folder and its descendants; resolves to the keys that were deleted. */
  deleteFolder(key: string): Promise<string[]>;
}

/** Why a folder or message operation was refused, in terms the EAS statuses need. */
export type MailFolderFailure =
  /** The folder or message does not exist (anymore). */
  | "not-found"
  /** The parent named for a create or move does not exist. */
  | "parent-not-found"
  /** A folder with that name already exists at that place. */
  | "exists"
  /** The name cannot be used (contains the hierarchy delimiter, empty, too long). */
  | "invalid-name"
  /** The server refused for another reason (permissions, a mailbox in use). */
  | "refused";

/** A refused folder or message operation; nothing was changed on the server. */
export class MailFolderError extends Error {
  constructor(readonly failure: MailFolderFailure, message: string, override readonly cause?: unknown) {
    super(message);
    this.name = "MailFolderError";
  }
}
