/**
 * MailOperations over IMAP: what SendMail/SmartReply/SmartForward, MoveItems
 * and FolderCreate/Update/Delete need beyond sync. Runs on the user's pooled
 * connection (one per user, work serialized), with the user's own rights.
 */
import { MailFolderError, type MailOperations } from "../../backend/mail_operations.ts";
import { BackendUnavailableError, type Credentials } from "../../backend/types.ts";
import { FOLDER_TYPE } from "../../eas/protocol/folder_types.ts";
import type { ImapConnectionPool } from "./connection_pool.ts";
import { IMAP_PREFIX, mailboxOfKey, mapImapFolders } from "./folder_mapping.ts";
import { type ImapClient, ImapConnectionError, ImapError, type MailboxInfo } from "./imap_client.ts";

/** MailOperations for one user over the connection pool. */
export class ImapMailOperations implements MailOperations {
  constructor(private readonly pool: ImapConnectionPool, private readonly credentials: Credentials) {}

  /** BODY.PEEK[] of one message (RFC 3501 6.4.5: PEEK leaves \Seen alone). */
  fetchMessage(folderKey: string, uid: number): Promise<Uint8Array | undefined> {
    const mailbox = mailboxName(folderKey);
    return this.#with(async (client) => {
      if (!await openMailbox(client, mailbox)) return undefined;
      const row = await client.fetchOne(uid, ["BODY.PEEK[]"]);
      return row?.sections.get("BODY[]");
    });
  }

  /** STORE +FLAGS of one message; a message that is gone is not an error (the send already happened). */
  addFlag(folderKey: string, uid: number, flag: string): Promise<void> {
    const mailbox = mailboxName(folderKey);
    return this.#with(async (client) => {
      if (!await openMailbox(client, mailbox)) return;
      await client.store(String(uid), "+FLAGS.SILENT", [flag]);
    });
  }

  /** APPEND to the Sent folder (SPECIAL-USE \Sent, else the usual names) flagged \Seen. */
  saveToSent(message: Uint8Array): Promise<boolean> {
    return this.#with(async (client) => {
      const sent = sentMailbox(await client.list());
      if (sent === undefined) return false;
      await client.append(sent, message, ["\\Seen"]);
      return true;
    });
  }

  /** UID SEARCH HEADER Message-ID in the Sent folder. */
  sentContains(messageId: string): Promise<boolean> {
    return this.#with(async (client) => {
      const sent = sentMailbox(await client.list());
      if (sent === undefined || !await openMailbox(client, sent)) return false;
      const uids = await client.search(["HEADER", "Message-ID", messageId]);
      return uids.length > 0;
    });
  }

  /**
   * UID MOVE (RFC 6851), which the client falls back to COPY + STORE \Deleted
   * + UID EXPUNGE for where MOVE is missing; the new UID comes from COPYUID
   * (RFC 4315).
   */
  moveMessage(fromKey: string, uid: number, toKey: string): Promise<number | undefined> {
    const from = mailboxName(fromKey);
    const to = mailboxName(toKey);
    return this.#with(async (client) => {
      const mailboxes = await client.list();
      if (!mailboxes.some((m) => m.name === to && !isNoSelect(m))) {
        throw new MailFolderError("parent-not-found", `Mailbox '${to}' does not exist`);
      }
      if (!await openMailbox(client, from)) {
        throw new MailFolderError("not-found", `Mailbox '${from}' does not exist`);
      }
      // MOVE of a UID that is gone answers OK with nothing moved: look first.
      const present = await client.search(`UID ${uid}`);
      if (!present.includes(uid)) {
        throw new MailFolderError("not-found", `Message ${uid} is not in '${from}'`);
      }
      const result = await refusalsAsFolderErrors(() => client.move(String(uid), to), to);
      return result?.map.get(uid);
    });
  }

  /** CREATE (and SUBSCRIBE, so desktop clients show it) of parent + delimiter + name. */
  createFolder(parentKey: string | null, name: string): Promise<string> {
    return this.#with(async (client) => {
      const full = newMailboxName(await client.list(), parentKey, name);
      await refusalsAsFolderErrors(() => client.create(full), full);
      await client.subscribe(full).catch(() => {});
      return IMAP_PREFIX + full;
    });
  }

  /** RENAME (RFC 3501 6.3.5: inferior names move along) and the subscriptions with it. */
  renameFolder(key: string, newParentKey: string | null, newName: string): Promise<[string, string][]> {
    return this.#with(async (client) => {
      const mailboxes = await client.list();
      const delimiter = delimiterOf(mailboxes);
      const old = mailboxName(key);
      if (!mailboxes.some((m) => m.name === old)) {
        throw new MailFolderError("not-found", `Mailbox '${old}' does not exist`);
      }
      const target = newMailboxName(mailboxes, newParentKey, newName);
      const moved = mailboxes.filter((m) => m.name === old || m.name.startsWith(old + delimiter));
      await refusalsAsFolderErrors(() => client.rename(old, target), target);
      const pairs: [string, string][] = [];
      for (const m of moved) {
        const renamed = target + m.name.slice(old.length);
        pairs.push([IMAP_PREFIX + m.name, IMAP_PREFIX + renamed]);
        // Dovecot moves subscriptions along, other servers do not: both are harmless.
        await client.unsubscribe(m.name).catch(() => {});
        await client.subscribe(renamed).catch(() => {});
      }
      return pairs;
    });
  }

  /** DELETE of the folder and everything below it, deepest first (servers refuse a parent with children). */
  deleteFolder(key: string): Promise<string[]> {
    return this.#with(async (client) => {
      const mailboxes = await client.list();
      const delimiter = delimiterOf(mailboxes);
      const name = mailboxName(key);
      if (!mailboxes.some((m) => m.name === name)) {
        throw new MailFolderError("not-found", `Mailbox '${name}' does not exist`);
      }
      const doomed = mailboxes.map((m) => m.name).filter((n) => n === name || n.startsWith(name + delimiter))
        .sort((a, b) => b.length - a.length);
      // DELETE of the selected mailbox is refused by some servers; INBOX cannot be among the doomed.
      if (client.selected !== null && doomed.includes(client.selected)) await client.select("INBOX");
      for (const mailbox of doomed) {
        await refusalsAsFolderErrors(() => client.delete(mailbox), mailbox);
        await client.unsubscribe(mailbox).catch(() => {});
      }
      return doomed.map((n) => IMAP_PREFIX + n);
    });
  }

  /** Runs on the user's connection; a connection lost mid-command is "retry later", like one that never opened. */
  async #with<T>(work: (client: ImapClient) => Promise<T>): Promise<T> {
    try {
      return await this.pool.withClient(this.credentials, work);
    } catch (error) {
      if (error instanceof ImapConnectionError) {
        throw new BackendUnavailableError(`IMAP connection failed: ${error.message}`, error);
      }
      throw error;
    }
  }
}

/** The mailbox name of an "imap:" key; anything else is a bug of the caller. */
function mailboxName(key: string): string {
  const name = mailboxOfKey(key);
  if (name === undefined) throw new MailFolderError("not-found", `Folder key '${key}' is not an IMAP folder`);
  return name;
}

/**
 * SELECT (read-write even for reading: the sync code on this shared connection
 * may reuse the selection for STORE); false when the mailbox does not exist (NO).
 */
async function openMailbox(client: ImapClient, mailbox: string): Promise<boolean> {
  try {
    await client.select(mailbox);
    return true;
  } catch (error) {
    if (error instanceof ImapError && error.status === "NO") return false;
    throw error;
  }
}

/** Runs a hierarchy command; NO [ALREADYEXISTS] / [NONEXISTENT] (RFC 5530) become MailFolderErrors. */
async function refusalsAsFolderErrors<T>(command: () => Promise<T>, mailbox: string): Promise<T> {
  try {
    return await command();
  } catch (error) {
    if (!(error instanceof ImapError) || error.status !== "NO") throw error;
    const code = (error.code ?? "").toUpperCase();
    if (code === "ALREADYEXISTS") throw new MailFolderError("exists", `Mailbox '${mailbox}' exists`, error);
    if (code === "NONEXISTENT") {
      throw new MailFolderError("not-found", `Mailbox '${mailbox}' does not exist`, error);
    }
    if (code === "CANNOT") {
      throw new MailFolderError("invalid-name", `Mailbox name '${mailbox}' is refused`, error);
    }
    throw new MailFolderError("refused", `Server refused '${mailbox}': ${error.message}`, error);
  }
}

/**
 * The full name of a new mailbox `name` under `parentKey` (null: top level),
 * joined with the server's delimiter; refuses a bad name, a missing parent
 * and a name that is taken.
 */
function newMailboxName(mailboxes: MailboxInfo[], parentKey: string | null, name: string): string {
  const delimiter = delimiterOf(mailboxes);
  checkName(name, delimiter);
  const parent = parentKey === null ? null : mailboxName(parentKey);
  if (parent !== null && !mailboxes.some((m) => m.name === parent)) {
    throw new MailFolderError("parent-not-found", `Mailbox '${parent}' does not exist`);
  }
  const full = parent === null ? name : `${parent}${delimiter}${name}`;
  if (mailboxes.some((m) => m.name === full)) throw new MailFolderError("exists", `Mailbox '${full}' exists`);
  return full;
}

/** The hierarchy delimiter the server uses (RFC 3501 6.3.8); "/" when it lists none. */
function delimiterOf(mailboxes: MailboxInfo[]): string {
  return mailboxes.find((m) => m.delimiter)?.delimiter ?? "/";
}

/** A folder name from a phone must be one level: no delimiter, no IMAP wildcards. */
function checkName(name: string, delimiter: string): void {
  if (name.includes(delimiter) || /[*%]/.test(name)) {
    throw new MailFolderError("invalid-name", `Folder name '${name}' contains '${delimiter}', '*' or '%'`);
  }
}

function isNoSelect(m: MailboxInfo): boolean {
  return m.flags.some((f) => /^\\(noselect|nonexistent)$/i.test(f));
}

/** The Sent mailbox as FolderSync shows it (SPECIAL-USE \Sent, else the name fallbacks). */
function sentMailbox(mailboxes: MailboxInfo[]): string | undefined {
  const sent = mapImapFolders(mailboxes).find((f) => f.type === FOLDER_TYPE.SentItems);
  return sent ? mailboxOfKey(sent.key) : undefined;
}
