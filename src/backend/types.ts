import type { FolderType } from "../eas/protocol/folder_types.ts";

/** The user a backend acts for; the password lives only in memory. */
export interface Credentials {
  user: string;
  password: string;
}

/**
 * A folder as a bridge sees it. `key` is the bridge's stable key, prefixed by
 * the bridge ("imap:INBOX", "dav:/calendars/alice/default/", "local:calendar"),
 * and never shown to phones: FolderSync maps it to a short ServerId.
 */
export interface BackendFolder {
  key: string;
  parentKey: string | null;
  displayName: string;
  type: FolderType;
}

/** A bridge that owns some of a user's folders. */
export interface FolderSource {
  /** Key prefix this source owns ("imap:", "dav:", "local:"). */
  readonly prefix: string;
  /** Every folder of this source for the user. */
  listFolders(): Promise<BackendFolder[]>;
}

/** The mailstore could not be reached or failed; the phone should retry later (503 / Status 111). */
export class BackendUnavailableError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = "BackendUnavailableError";
  }
}

/** The mailstore refused the user's credentials. */
export class BackendAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackendAuthError";
  }
}

/** Result of checking a user's credentials against the mailstore. */
export type LoginCheck = "ok" | "denied" | "unavailable";

/** Checks credentials against the mailstore (an IMAP LOGIN): the box keeps no passwords of its own. */
export type CredentialChecker = (credentials: Credentials) => Promise<LoginCheck>;
