import { type BodyStructure, expandSequenceSet, type FetchRow, valueText } from "./imap_parser.ts";
import type {
  MailboxFingerprint,
  MailSession,
  MessageRow,
  SelectedMailbox,
  StructurePart,
} from "./_mail_session.ts";
import type { ListedMailbox } from "./folder_mapping.ts";
import type { ImapClient, MailboxStatus } from "./imap_client.ts";

/** IMAP commands the mail backend issued since start (benchmarks read it: round trips per sync). */
export const MAIL_IMAP_STATS = { commands: 0 };

/** Told of a mailbox state the mail backend read (SELECT or STATUS). */
export type MailboxObserver = (mailbox: string, status: MailboxStatus) => void;

const observers = new WeakMap<ImapClient, Set<MailboxObserver>>();

/**
 * Subscribes to the mailbox states the mail backend reads on `client`. The
 * push watcher sharing the connection (watcher.ts) needs them: a NOTIFY or
 * EXISTS event that arrives during a request's SELECT or STATUS of the same
 * mailbox is taken as that command's answer and never reaches onUntagged.
 * Returns the unsubscribe function.
 */
export function onMailboxRead(client: ImapClient, observer: MailboxObserver): () => void {
  let set = observers.get(client);
  if (!set) observers.set(client, set = new Set());
  set.add(observer);
  return () => set.delete(observer);
}

function told(client: ImapClient, mailbox: string, status: MailboxStatus): void {
  for (const observer of observers.get(client) ?? []) {
    try {
      observer(mailbox, status);
    } catch { /* an observer's bug must not fail the request */ }
  }
}

/** The MailSession of a pooled connection. */
export function sessionOf(client: ImapClient): MailSession {
  return new ImapMailSession(client);
}

class ImapMailSession implements MailSession {
  constructor(private readonly client: ImapClient) {}

  get condstore(): boolean {
    return this.#has("CONDSTORE") || this.#has("QRESYNC");
  }
  get qresync(): boolean {
    return this.#has("QRESYNC");
  }
  get move(): boolean {
    return this.#has("MOVE");
  }
  get binary(): boolean {
    return this.#has("BINARY");
  }

  async list(): Promise<ListedMailbox[]> {
    MAIL_IMAP_STATS.commands++;
    return await this.client.list();
  }

  async select(mailbox: string, readOnly: boolean): Promise<SelectedMailbox> {
    if (this.qresync && !this.client.enabled.has("QRESYNC")) {
      // VANISHED in FETCH needs QRESYNC enabled on the connection (RFC 7162 3.2.6).
      MAIL_IMAP_STATS.commands++;
      await this.client.enable("QRESYNC");
    }
    MAIL_IMAP_STATS.commands++;
    const info = await this.client.select(mailbox, { readOnly, condstore: this.condstore });
    const out: SelectedMailbox = {
      uidValidity: info.uidValidity,
      uidNext: info.uidNext,
      exists: info.exists,
    };
    if (info.highestModSeq !== undefined) out.highestModSeq = info.highestModSeq;
    told(this.client, mailbox, {
      uidValidity: out.uidValidity,
      uidNext: out.uidNext,
      messages: out.exists,
      ...(out.highestModSeq !== undefined ? { highestModSeq: out.highestModSeq } : {}),
    });
    return out;
  }

  async keepSelected(mailbox: string): Promise<void> {
    if (this.client.selected !== mailbox) await this.select(mailbox, true);
  }

  async status(mailbox: string): Promise<MailboxFingerprint> {
    if (this.client.selected === mailbox) {
      // STATUS of the selected mailbox may answer from the session's stale view (RFC 3501 6.3.10):
      // selecting it again costs the same round trip and is current.
      const info = await this.select(mailbox, true);
      const out: MailboxFingerprint = {
        uidValidity: info.uidValidity,
        uidNext: info.uidNext,
        messages: info.exists,
      };
      if (info.highestModSeq !== undefined) out.highestModSeq = info.highestModSeq;
      return out;
    }
    MAIL_IMAP_STATS.commands++;
    const st = await this.client.status(mailbox, ["MESSAGES", "UIDNEXT", "UIDVALIDITY", "HIGHESTMODSEQ"]);
    told(this.client, mailbox, st);
    const out: MailboxFingerprint = {
      uidValidity: st.uidValidity ?? 0,
      uidNext: st.uidNext ?? 0,
      messages: st.messages ?? 0,
    };
    if (st.highestModSeq !== undefined) out.highestModSeq = st.highestModSeq;
    return out;
  }

  async *fetch(
    uids: string,
    items: string[],
    options: { changedSince?: bigint; vanished?: (uids: number[]) => void } = {},
  ): AsyncIterable<MessageRow> {
    MAIL_IMAP_STATS.commands++;
    const list = items.includes("UID") ? items : ["UID", ...items];
    const stream = this.client.fetch(uids, `(${list.join(" ")})`, {
      ...(options.changedSince !== undefined ? { changedSince: options.changedSince } : {}),
      ...(options.vanished ? { vanished: true } : {}),
    });
    for await (const row of stream) {
      if (row.uid !== undefined) yield toRow(row);
    }
    if (options.vanished) {
      for (const set of stream.vanished) options.vanished(expandSequenceSet(set));
    }
  }

  async store(uids: string, operation: "+FLAGS.SILENT" | "-FLAGS.SILENT", flags: string[]): Promise<void> {
    MAIL_IMAP_STATS.commands++;
    await this.client.store(uids, operation, flags);
  }

  async moveTo(uids: string, mailbox: string): Promise<void> {
    MAIL_IMAP_STATS.commands++;
    await this.client.move(uids, mailbox);
  }

  async expunge(uids: string): Promise<void> {
    MAIL_IMAP_STATS.commands += 2;
    await this.client.store(uids, "+FLAGS.SILENT", ["\\Deleted"]);
    await this.client.expunge(uids);
  }

  async append(
    mailbox: string,
    message: Uint8Array,
    flags: string[],
    date?: Date,
  ): Promise<number | undefined> {
    MAIL_IMAP_STATS.commands++;
    const result = await this.client.append(mailbox, message, flags, date);
    return result?.uid;
  }

  async deleteMailbox(mailbox: string): Promise<void> {
    MAIL_IMAP_STATS.commands++;
    await this.client.delete(mailbox);
  }

  #has(capability: string): boolean {
    return this.client.capabilities.has(capability);
  }
}

function toRow(row: FetchRow): MessageRow {
  const out: MessageRow = { uid: row.uid!, sections: row.sections };
  if (row.flags) out.flags = row.flags;
  if (row.internalDate) out.internalDate = row.internalDate;
  if (row.size !== undefined) out.size = row.size;
  if (row.bodyStructure) out.structure = structureOf(row.bodyStructure);
  const sizes = new Map<string, number>();
  for (const [name, value] of row.attributes) {
    const match = /^BINARY\.SIZE\[([\d.]+)\]$/.exec(name);
    const text = match ? valueText(value) : null;
    if (match && text !== null && /^\d+$/.test(text)) sizes.set(match[1]!, Number(text));
  }
  if (sizes.size) out.binarySizes = sizes;
  return out;
}

function structureOf(part: BodyStructure): StructurePart {
  const out: StructurePart = {
    section: part.part,
    type: part.type.toLowerCase(),
    subtype: part.subtype.toLowerCase(),
    params: lowerKeys(part.params),
    encoding: (part.encoding ?? "7bit").toLowerCase(),
    size: part.size,
  };
  if (part.id) out.id = part.id;
  if (part.disposition) {
    out.disposition = {
      type: part.disposition.type.toLowerCase(),
      params: lowerKeys(part.disposition.params),
    };
  }
  // The body of a message/rfc822 part is an attachment as a whole: its inner parts are not listed.
  if (part.parts && part.type.toLowerCase() === "multipart") out.parts = part.parts.map(structureOf);
  return out;
}

function lowerKeys(params: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k.toLowerCase(), v]));
}
