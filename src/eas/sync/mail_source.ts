import type { MailBackend, MailChange } from "../../backend/mail.ts";
import { type Email, FLAG_STATUS } from "../model/email.ts";
import type { SyncOptions } from "./options.ts";
import type { SyncSource } from "./types.ts";

/** Where a mail collection lives and how its items are written for the device. */
export interface MailCollection {
  backend: MailBackend;
  folderKey: string;
  folderServerId: string;
  version: string;
  options: SyncOptions;
  /** DeletesAsMoves (MS-ASCMD 2.2.3.42.2): true moves deleted mail to Deleted Items. */
  deletesAsMoves: boolean;
}

/** Adapts a mail folder of a MailBackend to the sync engine. */
export function mailSyncSource(c: MailCollection): SyncSource<Email> {
  const { backend, folderKey } = c;
  return {
    cursor: () => backend.folderCursor(folderKey),
    scan: (since, cursor) => backend.scan(folderKey, since, cursor),
    async *fetch(ids, mode) {
      const options = {
        version: c.version,
        bodyPreferences: c.options.bodyPreferences,
        bodyPartPreferences: c.options.bodyPartPreferences,
        mimeSupport: c.options.mimeSupport,
        folderServerId: c.folderServerId,
        changeOnly: mode === "change",
        ...(c.options.truncation25 !== undefined ? { truncation25: c.options.truncation25 } : {}),
        ...(c.options.mimeTruncation25 !== undefined ? { mimeTruncation25: c.options.mimeTruncation25 } : {}),
      };
      for await (const got of backend.fetchEmails(folderKey, ids, options)) {
        yield "error" in got ? got : { id: got.id, item: got.email, state: got.state };
      }
    },
    add: (email) => backend.addDraft(folderKey, email),
    change: (id, email) => backend.changeMessage(folderKey, id, mailChangeOf(email)),
    remove: (id) => backend.deleteMessage(folderKey, id, { permanent: !c.deletesAsMoves }),
  };
}

/**
 * What a phone's Change means for IMAP flags (MS-ASEMAIL 2.2.2.34, 2.2.2.63):
 * Read -> \Seen; an active Flag -> \Flagged, an empty or complete one clears it
 * (IMAP has no "complete" state); Categories -> keywords.
 */
export function mailChangeOf(email: Email): MailChange {
  const change: MailChange = {};
  if (email.read !== undefined) change.read = email.read;
  if (email.flag !== undefined) change.flagged = email.flag.status === FLAG_STATUS.Active;
  if (email.categories !== undefined) change.categories = email.categories;
  if (email.lastVerbExecuted !== undefined) change.lastVerb = email.lastVerbExecuted;
  return change;
}
