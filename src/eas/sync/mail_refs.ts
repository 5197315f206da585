import { isMailSource, type MailSource } from "../../backend/mail.ts";
import type { FolderSource } from "../../backend/types.ts";

/** How references are resolved: the store's folder ids of the user and the backend's routing. */
export interface RefResolver {
  backendKeyOf(serverId: string): string | undefined;
  sourceOf(folderKey: string): FolderSource | undefined;
}

/** A mail item (and optionally one of its parts) that a reference points to. */
export interface MailRef {
  backend: MailSource;
  folderKey: string;
  folderServerId: string;
  /** The IMAP UID as a string. */
  id: string;
  /** IMAP section of an attachment ("2", "1.2"). */
  section?: string;
}

/**
 * Resolves a mail ServerId "<folder>:<uid>" or a FileReference
 * "<folder>:<uid>:<section>" (contract of the mail bridge). The folder part
 * goes only through the user's own folder ids, so a crafted reference never
 * reaches another user's mailbox; undefined when anything does not fit.
 */
export function resolveMailRef(
  reference: string,
  resolver: RefResolver,
  withSection: boolean,
): MailRef | undefined {
  const match = withSection
    ? /^([^:]{1,64}):([1-9]\d{0,9}):(\d{1,4}(?:\.\d{1,4}){0,15})$/.exec(reference)
    : /^([^:]{1,64}):([1-9]\d{0,9})$/.exec(reference);
  if (!match) return undefined;
  const folderServerId = match[1]!;
  const folderKey = resolver.backendKeyOf(folderServerId);
  if (!folderKey) return undefined;
  const backend = resolver.sourceOf(folderKey);
  if (!isMailSource(backend)) return undefined;
  const ref: MailRef = { backend, folderKey, folderServerId, id: match[2]! };
  if (withSection) ref.section = match[3]!;
  return ref;
}
