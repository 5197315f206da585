/**
 * The simulated phone of the reliability scenarios: a real EAS client that
 * retries an unanswered request unchanged (same SyncKey, same commands, same
 * ClientId), keeps its own model of one mail folder, and counts what went
 * wrong; plus the IMAP truth it is compared with.
 *
 * @module
 */
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import type { EasClient, EasReply } from "../eas_client/client.ts";
import { syncRequest } from "../eas_client/requests.ts";
import { imapCommand } from "../../tests/harness/imap_peek.ts";
import type { Mailstore } from "../../tests/harness/mod.ts";

const AS = "AirSync";

/** What the phone knows of one item. */
export interface PhoneItem {
  subject: string;
  read: boolean;
}

/** The phone: its SyncKey, its model of the folder and counters of what went wrong. */
export class Phone {
  readonly model = new Map<string, PhoneItem>();
  key = "0";
  duplicatedAdds = 0;
  errors = 0;
  /** Failed attempts by kind ("HTTP 503", a timeout, ...), for the scenario's notes. */
  readonly errorKinds = new Map<string, number>();
  resyncs = 0;
  recoveryMs: number[] = [];
  /** Subjects the phone deleted and the server confirmed. */
  readonly deleted = new Set<string>();

  /**
   * `labelOf` names an item by its ApplicationData (mail and calendar: the Subject; contacts:
   * FileAs); the scenarios compare labels with the mailstore's truth.
   */
  constructor(
    readonly client: EasClient,
    readonly collection: string,
    readonly labelOf: (data: WbxmlElement | undefined) => string = (data) => childText(data, "Subject") ?? "",
  ) {}

  /** Attempts before giving up (a restart of the box takes a few of them). */
  attempts = 50;

  /** Sends one request, retrying the identical request until an answer arrives (as phones do). */
  async exchange(
    build: () => Promise<{ status: number; body?: WbxmlElement }>,
  ): Promise<WbxmlElement | undefined> {
    let firstFailure: number | undefined;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      try {
        const reply = await build();
        if (reply.status === 200) {
          if (firstFailure !== undefined) this.recoveryMs.push(performance.now() - firstFailure);
          return reply.body;
        }
        throw new Error(`HTTP ${reply.status}`);
      } catch (error) {
        if (Deno.env.get("RELIABILITY_DEBUG")) console.error("exchange failed:", String(error));
        this.errors++;
        const kind = error instanceof Error
          ? error.message.replace(/\d{3,}/g, "N").slice(0, 80)
          : String(error);
        this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1);
        firstFailure ??= performance.now();
        await new Promise((r) => setTimeout(r, 20 + attempt * 20));
      }
    }
    throw new Error(`No answer after ${this.attempts} attempts`);
  }

  /** The phone's Sync request for its folder (MS-ASCMD 2.2.1.21): its SyncKey, a window of 7, the commands. */
  request(commands: WbxmlElement[] = []): WbxmlElement {
    const initial = this.key === "0";
    return syncRequest(this.collection, this.key, [
      ...(initial ? [] : [el(AS, "GetChanges"), textEl(AS, "WindowSize", 7)]),
      ...(commands.length ? [el(AS, "Commands", ...commands)] : []),
    ]);
  }

  /**
   * One Sync attempt without retries (for a request sent while a fault is on): a 200 with
   * Status 1 is applied as sync() would; anything else leaves the phone as it was.
   */
  async syncOnce(commands: WbxmlElement[] = []): Promise<EasReply> {
    const reply = await this.client.command("Sync", this.request(commands));
    if (reply.status !== 200) return reply;
    if (reply.body === undefined) {
      this.apply(undefined, commands);
      return reply;
    }
    const collection = child(child(reply.body, "Collections"), "Collection");
    if ((childText(collection, "Status") ?? childText(reply.body, "Status")) === "1") {
      this.key = childText(collection, "SyncKey") ?? this.key;
      this.apply(collection, commands);
    }
    return reply;
  }

  /** One Sync round (with commands, retried identically), then more rounds while MoreAvailable. */
  async sync(commands: WbxmlElement[] = []): Promise<void> {
    let pending = commands;
    for (let round = 0; round < 100; round++) {
      const request = this.request(pending);
      const wasInitial = this.key === "0";
      const body = await this.exchange(() => this.client.command("Sync", request));
      // An empty answer means nothing changed and every command succeeded (MS-ASCMD 2.2.1.21).
      if (body === undefined) {
        this.apply(undefined, pending);
        return;
      }
      const collection = child(child(body, "Collections"), "Collection");
      const status = childText(collection, "Status") ?? childText(body, "Status");
      if (status === "3") {
        // Invalid SyncKey: a full resync (the thing this scenario must never cause).
        this.resyncs++;
        this.key = "0";
        this.model.clear();
        pending = [];
        continue;
      }
      if (status !== "1") throw new Error(`Sync status '${status}'`);
      this.key = childText(collection, "SyncKey") ?? this.key;
      this.apply(collection, pending);
      pending = [];
      if (!wasInitial && !child(collection, "MoreAvailable")) return;
    }
  }

  apply(collection: WbxmlElement | undefined, sent: WbxmlElement[]): void {
    const commands = child(collection, "Commands");
    for (const add of childrenNamed(commands, "Add")) {
      const id = childText(add, "ServerId")!;
      if (this.model.has(id)) this.duplicatedAdds++;
      const data = child(add, "ApplicationData");
      this.model.set(id, {
        subject: this.labelOf(data),
        read: childText(data, "Read") === "1",
      });
    }
    for (const change of childrenNamed(commands, "Change")) {
      const item = this.model.get(childText(change, "ServerId")!);
      const read = childText(child(change, "ApplicationData"), "Read");
      if (item && read !== undefined) item.read = read === "1";
    }
    for (const name of ["Delete", "SoftDelete"]) {
      for (const gone of childrenNamed(commands, name)) this.model.delete(childText(gone, "ServerId")!);
    }
    const responses = new Map(
      childrenNamed(child(collection, "Responses"), "Delete").map((
        r,
      ) => [childText(r, "ServerId"), childText(r, "Status")]),
    );
    const added = new Map(
      childrenNamed(child(collection, "Responses"), "Add").map((r) => [childText(r, "ClientId"), r]),
    );
    for (const command of sent) {
      const response = command.name === "Add" ? added.get(childText(command, "ClientId")) : undefined;
      if (response && childText(response, "Status") === "1") {
        // The phone's own Add, now known by the server's id (MS-ASCMD 2.2.3.24.2).
        const id = childText(response, "ServerId")!;
        if (this.model.has(id)) this.duplicatedAdds++;
        this.model.set(id, { subject: this.labelOf(child(command, "ApplicationData")), read: false });
      }
      if (command.name !== "Delete") continue;
      const id = childText(command, "ServerId")!;
      const status = responses.get(id);
      // No response element means success (MS-ASCMD 2.2.3.152.x: only failures must be reported).
      if (status === undefined || status === "1" || status === "8") {
        const item = this.model.get(id);
        if (item) this.deleted.add(item.subject);
        this.model.delete(id);
      }
    }
  }
}

/** The IMAP truth: subject -> {uid, seen} (and duplicates counted). */
export async function imapTruth(
  store: Mailstore,
  user: string,
): Promise<{ items: Map<string, { uid: number; seen: boolean }>; duplicates: number }> {
  const transcript = await imapCommand(store, user, [
    "EXAMINE INBOX",
    "UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
  ]);
  const items = new Map<string, { uid: number; seen: boolean }>();
  let duplicates = 0;
  for (const match of transcript.matchAll(/\* \d+ FETCH \(([^\r]*)\r\nSubject: (\S+)/g)) {
    const meta = match[1]!;
    const uid = Number(/UID (\d+)/.exec(meta)?.[1]);
    const seen = /\\Seen/.test(meta);
    const subject = match[2]!;
    if (items.has(subject)) duplicates++;
    items.set(subject, { uid, seen });
  }
  return { items, duplicates };
}

/** Lost and duplicated items between the phone's model and the IMAP truth (see RESULTS.md's columns). */
export function compareWithTruth(
  phone: Phone,
  truth: Awaited<ReturnType<typeof imapTruth>>,
): { lost: number; duplicated: number } {
  let lost = 0;
  let duplicated = phone.duplicatedAdds + truth.duplicates;
  const bySubject = new Map<string, PhoneItem>();
  for (const item of phone.model.values()) {
    if (bySubject.has(item.subject)) duplicated++;
    bySubject.set(item.subject, item);
  }
  for (const [subject, item] of truth.items) {
    const held = bySubject.get(subject);
    if (!held) lost++; // on the server, never reached the phone
    else if (held.read !== item.seen) lost++; // a flag change lost on one side
  }
  for (const subject of bySubject.keys()) if (!truth.items.has(subject)) duplicated++; // a ghost
  return { lost, duplicated };
}

/**
 * Whether a reply to a request made during a fault is one a phone handles by waiting: 503 with
 * Retry-After (MS-ASHTTP 3.1.5.2), in-band 110/111 (MS-ASCMD 2.2.2 Common Status), Sync Status 16
 * "Retry" (MS-ASCMD 2.2.3.177.16), or a success.
 */
export function retryable(reply: EasReply): boolean {
  if (reply.status === 503) return reply.headers.has("Retry-After");
  if (reply.status !== 200) return false;
  const status = childText(reply.body, "Status") ??
    childText(child(child(reply.body, "Collections"), "Collection"), "Status");
  return ["110", "111", "16", "1", undefined].includes(status);
}
