/**
 * In-memory stand-ins for the mail bridges, for unit tests of the compose,
 * move and folder commands: a mailbox tree with "/" as delimiter, a
 * submitter that records or refuses, and a CommandContext over ":memory:".
 */
import { CompositeBackend } from "../../../src/backend/composite.ts";
import { MailFolderError, type MailOperations } from "../../../src/backend/mail_operations.ts";
import {
  type Envelope,
  type MailSubmitter,
  SubmissionError,
  type SubmissionProgress,
  type SubmissionReceipt,
} from "../../../src/backend/submission.ts";
import type { BackendFolder, FolderSource } from "../../../src/backend/types.ts";
import { mapImapFolders } from "../../../src/bridge/imap/folder_mapping.ts";
import type { CommandContext, EasRequest } from "../../../src/eas/commands/context.ts";
import { parseEasQuery } from "../../../src/eas/protocol/query.ts";
import { Store } from "../../../src/store/mod.ts";
import type { WbxmlElement } from "../../../src/wbxml/mod.ts";

interface StoredMessage {
  bytes: Uint8Array;
  flags: Set<string>;
}

/** A user's mailboxes in memory, with IMAP-like names ("Work/Projects"). */
export class FakeMailbox implements MailOperations, FolderSource {
  readonly prefix = "imap:";
  readonly boxes = new Map<string, { nextUid: number; messages: Map<number, StoredMessage> }>();

  constructor(names = ["INBOX", "Drafts", "Sent", "Trash"]) {
    for (const name of names) this.boxes.set(name, { nextUid: 1, messages: new Map() });
  }

  /** Adds a message; returns its UID. */
  put(mailbox: string, message: string | Uint8Array, flags: string[] = []): number {
    const box = this.#box(mailbox);
    const uid = box.nextUid++;
    const bytes = typeof message === "string" ? new TextEncoder().encode(message) : message;
    box.messages.set(uid, { bytes, flags: new Set(flags) });
    return uid;
  }

  flagsOf(mailbox: string, uid: number): string[] {
    return [...(this.#box(mailbox).messages.get(uid)?.flags ?? [])];
  }

  texts(mailbox: string): string[] {
    return [...this.#box(mailbox).messages.values()].map((m) => new TextDecoder().decode(m.bytes));
  }

  listFolders(): Promise<BackendFolder[]> {
    return Promise.resolve(
      mapImapFolders([...this.boxes.keys()].map((name) => ({ name, delimiter: "/", flags: [] }))),
    );
  }

  fetchMessage(folderKey: string, uid: number): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.boxes.get(mailboxOf(folderKey))?.messages.get(uid)?.bytes);
  }

  addFlag(folderKey: string, uid: number, flag: string): Promise<void> {
    this.boxes.get(mailboxOf(folderKey))?.messages.get(uid)?.flags.add(flag);
    return Promise.resolve();
  }

  saveToSent(message: Uint8Array): Promise<boolean> {
    this.put("Sent", message, ["\\Seen"]);
    return Promise.resolve(true);
  }

  sentContains(messageId: string): Promise<boolean> {
    return Promise.resolve(this.texts("Sent").some((t) => t.includes(`Message-ID: ${messageId}`)));
  }

  moveMessage(fromKey: string, uid: number, toKey: string): Promise<number | undefined> {
    const from = this.boxes.get(mailboxOf(fromKey));
    const message = from?.messages.get(uid);
    if (!from || !message) throw new MailFolderError("not-found", "No such message");
    const to = this.boxes.get(mailboxOf(toKey));
    if (!to) throw new MailFolderError("parent-not-found", "No such destination");
    from.messages.delete(uid);
    const newUid = to.nextUid++;
    to.messages.set(newUid, message);
    return Promise.resolve(newUid);
  }

  createFolder(parentKey: string | null, name: string): Promise<string> {
    if (name.includes("/")) throw new MailFolderError("invalid-name", "Name contains the delimiter");
    const full = parentKey === null ? name : `${mailboxOf(parentKey)}/${name}`;
    if (this.boxes.has(full)) throw new MailFolderError("exists", "Exists");
    this.boxes.set(full, { nextUid: 1, messages: new Map() });
    return Promise.resolve(`imap:${full}`);
  }

  renameFolder(key: string, newParentKey: string | null, newName: string): Promise<[string, string][]> {
    const old = mailboxOf(key);
    const target = newParentKey === null ? newName : `${mailboxOf(newParentKey)}/${newName}`;
    if (this.boxes.has(target)) throw new MailFolderError("exists", "Exists");
    const pairs: [string, string][] = [];
    for (const name of [...this.boxes.keys()]) {
      if (name !== old && !name.startsWith(`${old}/`)) continue;
      const renamed = target + name.slice(old.length);
      this.boxes.set(renamed, this.boxes.get(name)!);
      this.boxes.delete(name);
      pairs.push([`imap:${name}`, `imap:${renamed}`]);
    }
    return Promise.resolve(pairs);
  }

  deleteFolder(key: string): Promise<string[]> {
    const old = mailboxOf(key);
    const gone = [...this.boxes.keys()].filter((n) => n === old || n.startsWith(`${old}/`));
    for (const name of gone) this.boxes.delete(name);
    return Promise.resolve(gone.map((n) => `imap:${n}`));
  }

  #box(mailbox: string) {
    const box = this.boxes.get(mailbox);
    if (!box) throw new Error(`No mailbox "${mailbox}"`);
    return box;
  }
}

function mailboxOf(key: string): string {
  return key.slice("imap:".length);
}

/**
 * A submitter that records what it was given, or throws what it was told to; it reports its
 * progress as SmtpSubmitter does. `loseReply` simulates the RFC 5321 6.1 gap: the message is
 * accepted (recorded in `sent`) and the connection breaks before the reply arrives.
 */
export class FakeSubmitter implements MailSubmitter {
  readonly sent: { envelope: Envelope; text: string }[] = [];
  failWith: Error | undefined;
  loseReply = false;

  submit(
    _credentials: unknown,
    envelope: Envelope,
    message: Uint8Array,
    progress: SubmissionProgress = {},
  ): Promise<SubmissionReceipt> {
    if (this.failWith) return Promise.reject(this.failWith);
    progress.dataEnd?.();
    this.sent.push({ envelope, text: new TextDecoder().decode(message) });
    progress.dataWritten?.();
    if (this.loseReply) {
      return Promise.reject(new SubmissionError("unconfirmed", "Connection lost after the end of the data"));
    }
    const receipt = { response: "250 2.0.0 Ok: queued" };
    progress.accepted?.(receipt);
    return Promise.resolve(receipt);
  }
}

/** A context for alice's device over an in-memory store and the fakes. */
export function fakeContext(
  mailbox = new FakeMailbox(),
  submitter = new FakeSubmitter(),
  protocolVersion = "16.1",
): CommandContext & { store: Store; mailbox: FakeMailbox; fakeSubmitter: FakeSubmitter } {
  const store = Store.open(":memory:");
  const device = store.devices.sighted({
    user: "alice",
    deviceId: "dev1",
    deviceType: "iPhone",
    userAgent: "test",
    protocolVersion,
  });
  return {
    user: "alice",
    credentials: { user: "alice", password: "alice-secret" },
    device,
    protocolVersion,
    store,
    backend: new CompositeBackend([mailbox]),
    signal: new AbortController().signal,
    submitter,
    mailOps: mailbox,
    mailbox,
    fakeSubmitter: submitter,
  };
}

/** A request with a WBXML body (or raw MIME and query parameters for the 12.1 form). */
export function fakeRequest(
  command: string,
  body: WbxmlElement | undefined,
  raw: Uint8Array = new Uint8Array(0),
  params: Record<string, string> = {},
): EasRequest {
  const search = new URLSearchParams({
    Cmd: command,
    User: "alice",
    DeviceId: "dev1",
    DeviceType: "iPhone",
    ...params,
  });
  return {
    body,
    raw,
    contentType: body ? "application/vnd.ms-sync.wbxml" : "message/rfc822",
    query: parseEasQuery(search.toString()),
    headers: new Headers(),
  };
}

/** The ServerId of a mailbox for alice (allocating it as FolderSync would). */
export function folderId(ctx: CommandContext, mailbox: string): string {
  return ctx.store.folders.serverIdFor(ctx.user, `imap:${mailbox}`);
}
