/**
 * The simulated phone of the reliability scenarios: a real EAS client that
 * retries an unanswered request unchanged (same SyncKey, same commands, same
 * ClientId), keeps its own model of one mail folder, and counts what went
 * wrong; plus the IMAP truth it is compared with.
 *
 * @module
 */
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import type { EasClient } from "../eas_client/client.ts";
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
  resyncs = 0;
  recoveryMs: number[] = [];
  /** Subjects the phone deleted and the server confirmed. */
  readonly deleted = new Set<string>();

  constructor(readonly client: EasClient, readonly collection: string) {}

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
        firstFailure ??= performance.now();
        await new Promise((r) => setTimeout(r, 20 + attempt * 20));
      }
    }
    throw new Error(`No answer after ${this.attempts} attempts`);
  }

  /** One Sync round (with commands, retried identically), then more rounds while MoreAvailable. */
  async sync(commands: WbxmlElement[] = []): Promise<void> {
    let pending = commands;
    for (let round = 0; round < 100; round++) {
      const request = el(
        AS,
        "Sync",
        el(
          AS,
          "Collections",
          el(
            AS,
            "Collection",
            textEl(AS, "SyncKey", this.key),
            textEl(AS, "CollectionId", this.collection),
            this.key === "0" ? undefined : el(AS, "GetChanges"),
            this.key === "0" ? undefined : textEl(AS, "WindowSize", 7),
            pending.length ? el(AS, "Commands", ...pending) : undefined,
          ),
        ),
      );
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
        subject: childText(data, "Subject") ?? "",
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
    for (const command of sent) {
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
