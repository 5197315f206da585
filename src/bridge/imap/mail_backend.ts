import type {
  ContentStream,
  EmailOptions,
  FetchedEmail,
  FolderScan,
  ItemState,
  MailBackend,
  MailChange,
  MeetingRequestReader,
} from "../../backend/mail.ts";
import {
  type BackendFolder,
  BackendUnavailableError,
  type Credentials,
  type FolderSource,
} from "../../backend/types.ts";
import { BODY_TYPE } from "../../eas/model/airsyncbase.ts";
import type { Email } from "../../eas/model/email.ts";
import { FOLDER_TYPE } from "../../eas/protocol/folder_types.ts";
import { buildMessage, decodeHeaderValue, parseAddressList, parseMessage } from "../../mime/mod.ts";
import {
  changeableProperties,
  conversationOf,
  emailOfView,
  flagsToken,
  keywordOfCategory,
  type TextBody,
  viewOfMessage,
  wantsMime,
} from "./_mail_convert.ts";
import type { MailSession, MessageRow } from "./_mail_session.ts";
import { sessionOf } from "./_mail_session_imap.ts";
import {
  contentTypeOf,
  partAt,
  partialText,
  planFromStructure,
  viewOfLargeMessage,
} from "./_mail_structure.ts";
import type { ImapConnectionPool } from "./connection_pool.ts";
import { IMAP_PREFIX, mailboxOfKey, mapImapFolders } from "./folder_mapping.ts";

/** Limits of the mail backend, each with its reason. */
export const MAIL_LIMITS = {
  /** Messages up to this size are fetched whole in one round trip (parsing is cheaper than a second FETCH). */
  wholeFetchBytes: 256 * 1024,
  /**
   * Raw bytes and messages fetched whole by one FETCH. Converted messages wait in memory until
   * the response writer takes them, so a batch must be small: one batch per 512-item window
   * lived long enough for V8 to promote it to the old space, which then grew with every
   * window (peak RSS followed the folder size). A batch costs one FETCH round trip (and an
   * EXAMINE when another request selected another mailbox on the shared connection meanwhile),
   * and the connection is free for other requests between batches.
   */
  wholeFetchBatchBytes: 1024 * 1024,
  wholeFetchBatchItems: 64,
  /** Text fetched from a large message when the device sets no TruncationSize (phones show the start). */
  defaultTextBytes: 64 * 1024,
  /** Chunk size when streaming attachments and MIME (bounded memory per request). */
  streamChunkBytes: 1024 * 1024,
} as const;

/**
 * Mail over IMAP on the user's shared connection (ImapConnectionPool): folder
 * list, change detection (CONDSTORE/QRESYNC deltas where offered, a UID +
 * FLAGS snapshot otherwise), conversion to EAS Email with bodies fetched only
 * for the items in the window (large messages partially), flag changes,
 * deletes, drafts and attachment streaming.
 */
export class ImapMailBackend implements FolderSource, MailBackend {
  readonly prefix = IMAP_PREFIX;
  readonly kind = "mail" as const;
  #folders?: BackendFolder[];

  constructor(
    private readonly pool: ImapConnectionPool,
    private readonly credentials: Credentials,
    private readonly convertOptions: { readMeetingRequest?: MeetingRequestReader } = {},
  ) {}

  /** Lists mailboxes (with SPECIAL-USE attributes where offered) and maps them. */
  async listFolders(): Promise<BackendFolder[]> {
    this.#folders = await this.#with((s) => s.list().then(mapImapFolders));
    return this.#folders;
  }

  /** STATUS fingerprint: UIDVALIDITY, UIDNEXT, MESSAGES, HIGHESTMODSEQ. */
  folderCursor(folderKey: string): Promise<string> {
    const mailbox = mailboxOf(folderKey);
    return this.#with(async (s) => {
      const st = await s.status(mailbox);
      return `${st.uidValidity}:${st.uidNext}:${st.messages}:${st.highestModSeq ?? ""}`;
    });
  }

  /**
   * A delta (CHANGEDSINCE + VANISHED, RFC 7162) when the server has QRESYNC
   * and the cursor is from the same UIDVALIDITY; a full UID/FLAGS/INTERNALDATE
   * listing otherwise. A different UIDVALIDITY means every id is void.
   */
  scan(folderKey: string, since: Date | undefined, cursor: string | undefined): Promise<FolderScan> {
    const mailbox = mailboxOf(folderKey);
    return this.#with(async (s) => {
      const selected = await s.select(mailbox, true);
      const now = `${selected.uidValidity}:${selected.uidNext}:${selected.exists}:${
        selected.highestModSeq ?? ""
      }`;
      const [validity, , , modseq] = (cursor ?? "").split(":");
      if (cursor && validity !== String(selected.uidValidity)) {
        return { cursor: now, reset: true, full: true, items: [], vanished: [] };
      }
      const items: ItemState[] = [];
      const limit = since?.getTime() ?? -Infinity;
      if (cursor && modseq && s.qresync && selected.highestModSeq !== undefined) {
        const delta = await deltaScan(s, BigInt(modseq), selected.exists).catch((error) => {
          // A server that refuses the CHANGEDSINCE/VANISHED form still gets a correct (full) answer.
          if (error instanceof BackendUnavailableError) throw error;
          return undefined;
        });
        if (delta) return { cursor: now, reset: false, full: false, ...delta };
      }
      if (selected.exists > 0) {
        for await (const row of s.fetch("1:*", ["UID", "FLAGS", "INTERNALDATE"])) {
          const state = stateOf(row);
          if (state.date >= limit) items.push(state);
        }
      }
      return { cursor: now, reset: false, full: true, items, vanished: [] };
    });
  }

  /**
   * Fetches and converts messages: small ones whole in one FETCH, large ones
   * as header + BODYSTRUCTURE + the beginning of their text parts.
   */
  async *fetchEmails(folderKey: string, ids: string[], options: EmailOptions): AsyncIterable<FetchedEmail> {
    if (!ids.length) return;
    const mailbox = mailboxOf(folderKey);
    if (options.changeOnly) {
      yield* inOrder(
        ids,
        await this.#with(async (s) => {
          await s.select(mailbox, true);
          const out: FetchedEmail[] = [];
          for await (const row of s.fetch(uidSet(ids), ["UID", "FLAGS", "INTERNALDATE"])) {
            out.push({
              id: String(row.uid),
              email: changeableProperties(row.flags ?? [], options.version),
              state: stateOf(row),
            });
          }
          return out;
        }),
      );
      return;
    }
    const sizes = await this.#with(async (s) => {
      await s.keepSelected(mailbox);
      const sizes = new Map<number, number>();
      for await (const row of s.fetch(uidSet(ids), ["UID", "RFC822.SIZE"])) sizes.set(row.uid, row.size ?? 0);
      return sizes;
    });
    const small = ids.filter((id) => (sizes.get(Number(id)) ?? Infinity) <= MAIL_LIMITS.wholeFetchBytes);
    const whole = new Set(small);
    const large = ids.filter((id) => sizes.has(Number(id)) && !whole.has(id));
    // Whole messages are fetched in batches of bounded total size, each converted (bodies cut to
    // the device's limits) and handed on before the next is fetched: a streamed Sync window is
    // never held whole. The connection is free for other work between batches.
    for (
      const batch of batchesBySize(
        small,
        sizes,
        MAIL_LIMITS.wholeFetchBatchBytes,
        MAIL_LIMITS.wholeFetchBatchItems,
      )
    ) {
      yield* inOrder(
        batch,
        await this.#with(async (s) => {
          await s.keepSelected(mailbox);
          const out: FetchedEmail[] = [];
          for await (
            const row of s.fetch(uidSet(batch), [
              "UID",
              "FLAGS",
              "INTERNALDATE",
              "RFC822.SIZE",
              "BODY.PEEK[]",
            ])
          ) {
            out.push(
              convert(
                row,
                () => viewOfMessage(row.sections.get("BODY[]") ?? new Uint8Array()),
                options,
                this.convertOptions.readMeetingRequest,
              ),
            );
          }
          return out;
        }),
      );
    }
    for (const id of large) {
      yield* await this.#with(async (s) => {
        await s.keepSelected(mailbox);
        return await fetchLarge(s, Number(id), options, this.convertOptions.readMeetingRequest);
      });
    }
  }

  /** The raw message, streamed in chunks with BODY.PEEK[]<offset.length>. */
  fetchMime(folderKey: string, id: string): Promise<ContentStream | undefined> {
    const mailbox = mailboxOf(folderKey);
    return this.#with(async (s) => {
      await s.select(mailbox, true);
      let size: number | undefined;
      for await (const row of s.fetch(String(Number(id)), ["UID", "RFC822.SIZE"])) size = row.size;
      if (size === undefined) return undefined;
      return this.#stream(mailbox, Number(id), "message/rfc822", size, "");
    });
  }

  /** One part, decoded (BINARY, RFC 3516, where offered), streamed in chunks. */
  fetchAttachment(folderKey: string, id: string, section: string): Promise<ContentStream | undefined> {
    const mailbox = mailboxOf(folderKey);
    return this.#with(async (s) => {
      await s.select(mailbox, true);
      let row: MessageRow | undefined;
      const items = ["UID", "BODYSTRUCTURE", ...(s.binary ? [`BINARY.SIZE[${section}]`] : [])];
      for await (const r of s.fetch(String(Number(id)), items)) row = r;
      const part = row?.structure ? partAt(row.structure, section) : undefined;
      if (!row || !part || part.type === "multipart") return undefined;
      const size = row.binarySizes?.get(section) ??
        (part.encoding === "base64" ? await decodedSize(s, Number(id), section) : part.size);
      return this.#stream(mailbox, Number(id), contentTypeOf(part), size, section, part.encoding);
    });
  }

  /** STORE of \Seen, \Flagged, \Answered/$Forwarded and keywords; the new state, or undefined when gone. */
  changeMessage(folderKey: string, id: string, change: MailChange): Promise<ItemState | undefined> {
    const mailbox = mailboxOf(folderKey);
    const uid = String(Number(id));
    return this.#with(async (s) => {
      await s.select(mailbox, false);
      let current: MessageRow | undefined;
      for await (const row of s.fetch(uid, ["UID", "FLAGS", "INTERNALDATE"])) current = row;
      if (!current) return undefined;
      const add: string[] = [];
      const remove: string[] = [];
      if (change.read !== undefined) (change.read ? add : remove).push("\\Seen");
      if (change.flagged !== undefined) (change.flagged ? add : remove).push("\\Flagged");
      if (change.lastVerb === 1 || change.lastVerb === 2) add.push("\\Answered");
      if (change.lastVerb === 3) add.push("$Forwarded");
      if (change.categories !== undefined) {
        const wanted = new Set(change.categories.map(keywordOfCategory));
        for (const f of current.flags ?? []) if (!/^[\\$]/.test(f) && !wanted.has(f)) remove.push(f);
        add.push(...wanted);
      }
      if (add.length) await s.store(uid, "+FLAGS.SILENT", add);
      if (remove.length) await s.store(uid, "-FLAGS.SILENT", remove);
      let after: MessageRow | undefined;
      for await (const row of s.fetch(uid, ["UID", "FLAGS", "INTERNALDATE"])) after = row;
      return after ? stateOf(after) : undefined;
    });
  }

  /** Moves to Trash (UID MOVE), or expunges when permanent, in Trash itself, or without a Trash. */
  async deleteMessage(folderKey: string, id: string, options: { permanent: boolean }): Promise<boolean> {
    const mailbox = mailboxOf(folderKey);
    const trash = await this.#special(FOLDER_TYPE.DeletedItems);
    const uid = String(Number(id));
    return await this.#with(async (s) => {
      await s.select(mailbox, false);
      let exists = false;
      for await (const _ of s.fetch(uid, ["UID"])) exists = true;
      if (!exists) return false;
      if (!options.permanent && trash && trash !== mailbox) await s.moveTo(uid, trash);
      else await s.expunge(uid);
      return true;
    });
  }

  /** APPEND of a draft built from the device's Email (16.x drafts, MS-ASEMAIL 2.2.2.42). */
  addDraft(folderKey: string, email: Email): Promise<ItemState> {
    const mailbox = mailboxOf(folderKey);
    const message = draftMessage(email, this.credentials.user);
    const date = new Date();
    return this.#with(async (s) => {
      const uid = await s.append(mailbox, message, ["\\Draft", "\\Seen"], date);
      if (uid === undefined) throw new Error(`Server did not report the UID of the draft in '${mailbox}'`);
      await s.select(mailbox, true);
      for await (const row of s.fetch(String(uid), ["UID", "FLAGS", "INTERNALDATE"])) return stateOf(row);
      return { id: String(uid), token: flagsToken(["\\Draft", "\\Seen"]), date: date.getTime() };
    });
  }

  /**
   * ItemOperations Move (MS-ASCMD 2.2.3.110.1): finds the conversation's
   * messages by their headers (the same derivation as ConversationId in Sync)
   * and moves them with UID MOVE.
   */
  async moveConversation(conversationId: Uint8Array, destinationKey: string): Promise<number> {
    const destination = mailboxOf(destinationKey);
    const folders = await this.listFolders();
    const skipped: number[] = [
      FOLDER_TYPE.SentItems,
      FOLDER_TYPE.Drafts,
      FOLDER_TYPE.DeletedItems,
      FOLDER_TYPE.Outbox,
    ];
    const wanted = Array.from(conversationId).join(",");
    let moved = 0;
    for (const folder of folders) {
      if (skipped.includes(folder.type) || folder.key === destinationKey) continue;
      const mailbox = mailboxOf(folder.key);
      moved += await this.#with(async (s) => {
        const selected = await s.select(mailbox, false);
        if (selected.exists === 0) return 0;
        const uids: string[] = [];
        const fields = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID REFERENCES IN-REPLY-TO SUBJECT THREAD-TOPIC)]";
        for await (const row of s.fetch("1:*", ["UID", "INTERNALDATE", fields])) {
          const header = firstSection(row) ?? new Uint8Array();
          const headers = parseMessage(header).headers;
          const subject = decodeHeaderValue(headers.get("subject") ?? "");
          const id = conversationOf(headers, subject, row.internalDate ?? new Date(0)).id;
          if (Array.from(id).join(",") === wanted) uids.push(String(row.uid));
        }
        if (uids.length) await s.moveTo(uidSet(uids), destination);
        return uids.length;
      });
    }
    return moved;
  }

  /** Deletes every message (to Trash unless this is Trash) and, when asked, the subfolders. */
  async emptyFolder(folderKey: string, options: { deleteSubfolders: boolean }): Promise<void> {
    const mailbox = mailboxOf(folderKey);
    const trash = await this.#special(FOLDER_TYPE.DeletedItems);
    const folders = this.#folders ?? await this.listFolders();
    await this.#with(async (s) => {
      const selected = await s.select(mailbox, false);
      if (selected.exists > 0) {
        if (trash && trash !== mailbox) await s.moveTo("1:*", trash);
        else await s.expunge("1:*");
      }
      if (options.deleteSubfolders) {
        const children = folders.filter((f) => isBelow(f.key, folderKey)).sort((a, b) =>
          b.key.length - a.key.length
        );
        for (const child of children) await s.deleteMailbox(mailboxOf(child.key));
      }
    });
  }

  #with<T>(work: (session: MailSession) => Promise<T>): Promise<T> {
    return this.pool.withClient(this.credentials, (client) => work(sessionOf(client)));
  }

  async #special(type: number): Promise<string | undefined> {
    const folders = this.#folders ?? await this.listFolders();
    const folder = folders.find((f) => f.type === type);
    return folder ? mailboxOf(folder.key) : undefined;
  }

  #stream(
    mailbox: string,
    uid: number,
    contentType: string,
    size: number,
    section: string,
    encoding?: string,
  ): ContentStream {
    const pool = this.pool;
    const credentials = this.credentials;
    return {
      contentType,
      size,
      async *open(range) {
        const start = range?.offset ?? 0;
        const end = Math.min(size, start + (range?.length ?? size));
        const binary = section !== "" && encoding !== undefined;
        if (binary && !(await pool.withClient(credentials, (c) => Promise.resolve(sessionOf(c).binary)))) {
          // No BINARY: the part is decoded whole, then sliced (rare on modern servers).
          const whole = await pool.withClient(credentials, async (c) => {
            const s = sessionOf(c);
            await s.select(mailbox, true);
            for await (const row of s.fetch(String(uid), ["UID", `BODY.PEEK[${section}]`])) {
              return decodeTransfer(firstSection(row) ?? new Uint8Array(), encoding);
            }
            return new Uint8Array();
          });
          yield whole.subarray(start, end);
          return;
        }
        for (let offset = start; offset < end; offset += MAIL_LIMITS.streamChunkBytes) {
          const length = Math.min(MAIL_LIMITS.streamChunkBytes, end - offset);
          const item = binary
            ? `BINARY.PEEK[${section}]<${offset}.${length}>`
            : `BODY.PEEK[${section}]<${offset}.${length}>`;
          const chunk = await pool.withClient(credentials, async (c) => {
            const s = sessionOf(c);
            await s.select(mailbox, true);
            for await (const row of s.fetch(String(uid), ["UID", item])) return firstSection(row);
            return undefined;
          });
          if (!chunk || chunk.length === 0) return;
          yield chunk;
        }
      },
    };
  }
}

async function deltaScan(
  s: MailSession,
  modseq: bigint,
  exists: number,
): Promise<{ items: ItemState[]; vanished: string[] } | undefined> {
  // An empty mailbox answers no FETCH (and so no VANISHED): the full scan says "everything is gone".
  if (exists === 0) return undefined;
  const items: ItemState[] = [];
  const vanished: string[] = [];
  const rows = s.fetch("1:*", ["UID", "FLAGS", "INTERNALDATE"], {
    changedSince: modseq,
    vanished: (uids) => vanished.push(...uids.map(String)),
  });
  for await (const row of rows) items.push(stateOf(row));
  return { items, vanished };
}

async function fetchLarge(
  s: MailSession,
  uid: number,
  options: EmailOptions,
  readMeetingRequest: MeetingRequestReader | undefined,
): Promise<FetchedEmail[]> {
  let row: MessageRow | undefined;
  for await (
    const r of s.fetch(String(uid), [
      "UID",
      "FLAGS",
      "INTERNALDATE",
      "RFC822.SIZE",
      "BODYSTRUCTURE",
      "BODY.PEEK[HEADER]",
    ])
  ) {
    row = r;
  }
  if (!row?.structure) return [];
  const plan = planFromStructure(row.structure);
  const limit = Math.max(
    ...options.bodyPreferences.map((p) => p.truncationSize ?? MAIL_LIMITS.defaultTextBytes),
    options.truncation25 ?? 0,
    MAIL_LIMITS.defaultTextBytes,
  );
  const texts: { plain?: TextBody; html?: TextBody } = {};
  let raw: Uint8Array | undefined;
  if (wantsMime(options, plan.smime !== undefined)) {
    const mimeLimit = options.bodyPreferences.find((p) => p.type === BODY_TYPE.Mime)?.truncationSize ??
      options.mimeTruncation25;
    const item = mimeLimit !== undefined ? `BODY.PEEK[]<0.${mimeLimit}>` : "BODY.PEEK[]";
    for await (const r of s.fetch(String(uid), ["UID", item])) raw = firstSection(r);
  }
  for (const slot of ["plain", "html"] as const) {
    const part = plan[slot];
    if (!part) continue;
    // Encoded text is longer than decoded (base64 4/3, quoted-printable up to 3x): fetch enough for `limit`.
    const fetchBytes =
      limit * (part.encoding === "base64" ? 4 / 3 : part.encoding === "quoted-printable" ? 3 : 1) + 4;
    const complete = part.size <= fetchBytes;
    const item = complete
      ? `BODY.PEEK[${part.section}]`
      : `BODY.PEEK[${part.section}]<0.${Math.ceil(fetchBytes)}>`;
    for await (const r of s.fetch(String(uid), ["UID", item])) {
      texts[slot] = partialText(part, firstSection(r) ?? new Uint8Array(), complete);
    }
  }
  const header = row.sections.get("BODY[HEADER]") ?? new Uint8Array();
  return [convert(row, () => viewOfLargeMessage(header, plan, texts, raw), options, readMeetingRequest)];
}

function convert(
  row: MessageRow,
  view: () => ReturnType<typeof viewOfMessage>,
  options: EmailOptions,
  readMeetingRequest: MeetingRequestReader | undefined,
): FetchedEmail {
  const id = String(row.uid);
  try {
    const meta = {
      uid: row.uid,
      flags: row.flags ?? [],
      internalDate: row.internalDate ?? new Date(0),
      size: row.size ?? 0,
    };
    return { id, email: emailOfView(view(), meta, options, readMeetingRequest), state: stateOf(row) };
  } catch (error) {
    // One unreadable message must not stop the folder (the engine skips it and remembers why).
    return { id, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

function stateOf(row: MessageRow): ItemState {
  return { id: String(row.uid), token: flagsToken(row.flags ?? []), date: row.internalDate?.getTime() ?? 0 };
}

function firstSection(row: MessageRow): Uint8Array | undefined {
  for (const [name, bytes] of row.sections) {
    if (name.startsWith("BODY[") || name.startsWith("BINARY[")) return bytes;
  }
  return undefined;
}

async function decodedSize(s: MailSession, uid: number, section: string): Promise<number> {
  for await (const row of s.fetch(String(uid), ["UID", `BODY.PEEK[${section}]`])) {
    return decodeTransfer(firstSection(row) ?? new Uint8Array(), "base64").length;
  }
  return 0;
}

function decodeTransfer(bytes: Uint8Array, encoding: string | undefined): Uint8Array {
  if (encoding === "base64") {
    const text = new TextDecoder().decode(bytes).replace(/[^A-Za-z0-9+/=]/g, "");
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  }
  return bytes;
}

function mailboxOf(folderKey: string): string {
  const mailbox = mailboxOfKey(folderKey);
  if (mailbox === undefined) throw new TypeError(`Folder key '${folderKey}' is not an IMAP folder`);
  return mailbox;
}

function isBelow(key: string, parentKey: string): boolean {
  return key !== parentKey && (key.startsWith(`${parentKey}/`) || key.startsWith(`${parentKey}.`));
}

/** Splits ids into consecutive batches whose sizes add up to at most `limit` (a larger item goes alone), of at most `maxItems`. */
export function batchesBySize(
  ids: readonly string[],
  sizes: Map<number, number>,
  limit: number,
  maxItems = Infinity,
): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let total = 0;
  for (const id of ids) {
    const size = sizes.get(Number(id)) ?? 0;
    if (current.length && (total + size > limit || current.length >= maxItems)) {
      batches.push(current);
      current = [];
      total = 0;
    }
    current.push(id);
    total += size;
  }
  if (current.length) batches.push(current);
  return batches;
}

/** A compact UID set ("3:7,9") from ids. */
/** Fetched items in the order they were asked for (newest first from the engine). */
function inOrder(ids: readonly string[], results: FetchedEmail[]): FetchedEmail[] {
  const byId = new Map(results.map((r) => [r.id, r]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

export function uidSet(ids: readonly string[]): string {
  const uids = [...new Set(ids.map(Number))].filter((n) => Number.isInteger(n) && n > 0).sort((a, b) =>
    a - b
  );
  const ranges: string[] = [];
  for (let i = 0; i < uids.length;) {
    let j = i;
    while (j + 1 < uids.length && uids[j + 1] === uids[j]! + 1) j++;
    ranges.push(i === j ? String(uids[i]) : `${uids[i]}:${uids[j]}`);
    i = j + 1;
  }
  return ranges.join(",");
}

/** The MIME of a draft from the device's Email (To, Cc, Bcc, Subject, Importance, body). */
function draftMessage(email: Email, user: string): Uint8Array {
  const list = (value: string | undefined) => value ? parseAddressList(value) : [];
  const from = list(email.from)[0] ?? { name: "", address: user.includes("@") ? user : `${user}@localhost` };
  const data = email.body?.data;
  const text = typeof data === "string" ? data : data ? new TextDecoder().decode(data) : "";
  const html = email.body?.type === BODY_TYPE.Html;
  return buildMessage({
    from,
    to: list(email.to),
    cc: list(email.cc),
    bcc: list(email.bcc),
    ...(email.subject !== undefined ? { subject: email.subject } : {}),
    ...(html ? { html: text } : { text }),
    ...(email.importance === 2
      ? { headers: [["Importance", "high"]] }
      : email.importance === 0
      ? { headers: [["Importance", "low"]] }
      : {}),
  });
}
