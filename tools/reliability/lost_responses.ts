/**
 * Scenario "lost responses": the fault proxy sits between a phone (the real
 * EAS client over TLS) and the box; every other Sync response is dropped after
 * the server committed it, large ItemOperations answers are cut mid-body, and
 * a share of all other exchanges are dropped, truncated or delayed. The phone
 * retries as phones do (same SyncKey, same commands). Each cycle mixes
 * changes on both sides: deliveries, flag changes and expunges over an
 * independent IMAP session, Read changes and Deletes from the phone. At the
 * end the phone's model of the Inbox is compared with the IMAP truth, and the
 * IMAP truth with what should be there.
 *
 * @module
 */
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import { EasClient } from "../eas_client/client.ts";
import { seededRandom, standardFaults, startHttpFaultProxy } from "../fault_proxy.ts";
import { imapCommand } from "../../tests/harness/imap_peek.ts";
import type { Mailstore } from "../../tests/harness/mod.ts";
import { type Box, startBox } from "../../tests/integration/fixture.ts";
import type { ScenarioResult } from "./result.ts";

const AS = "AirSync";

/** Options of one run. */
export interface LostResponsesOptions {
  cycles: number;
  seed?: number;
  /** Progress line every this many cycles (0: quiet). */
  reportEvery?: number;
}

interface PhoneItem {
  subject: string;
  read: boolean;
}

/** The phone: its SyncKey, its model of the folder and counters of what went wrong. */
class Phone {
  readonly model = new Map<string, PhoneItem>();
  key = "0";
  duplicatedAdds = 0;
  errors = 0;
  resyncs = 0;
  recoveryMs: number[] = [];
  /** Subjects the phone deleted and the server confirmed. */
  readonly deleted = new Set<string>();

  constructor(readonly client: EasClient, readonly collection: string) {}

  /** Sends one request, retrying the identical request until an answer arrives (as phones do). */
  async exchange(
    build: () => Promise<{ status: number; body?: WbxmlElement }>,
  ): Promise<WbxmlElement | undefined> {
    let firstFailure: number | undefined;
    for (let attempt = 0; attempt < 50; attempt++) {
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
    throw new Error("No answer after 50 attempts");
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
async function imapTruth(
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

/** Runs the scenario on its own box; returns its table row. */
export async function runLostResponses(options: LostResponsesOptions): Promise<ScenarioResult> {
  const random = seededRandom(options.seed ?? 1);
  const box: Box = await startBox();
  const started = performance.now();
  const tlsDir = `${box.dataDir}/tls`;
  const proxy = await startHttpFaultProxy({
    target: box.server.easUrl,
    caCerts: [box.server.caCertPem!],
    tls: {
      cert: await Deno.readTextFile(`${tlsDir}/cert.pem`),
      key: await Deno.readTextFile(`${tlsDir}/key.pem`),
    },
    decide: Deno.env.get("RELIABILITY_NOFAULTS") ? () => ({ kind: "pass" }) : standardFaults(random),
  });
  try {
    const user = box.mailstore.users[0]!;
    const direct = box.client(user.name, { deviceId: "setup" });
    const folders = await direct.command(
      "FolderSync",
      el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
    );
    const inbox = childrenNamed(child(folders.body, "Changes"), "Add")
      .find((a) => childText(a, "DisplayName")?.toUpperCase() === "INBOX");
    const collection = childText(inbox, "ServerId")!;
    const client = new EasClient({
      url: proxy.url,
      user: user.name,
      password: user.password,
      deviceId: "faultyphone",
      deviceType: "iPhone",
      protocolVersion: "16.1",
      caCerts: [box.server.caCertPem!],
      timeoutMs: 30_000,
    });
    // The phone's own FolderSync goes through the faults too.
    const phone = new Phone(client, collection);
    await phone.exchange(() =>
      client.command(
        "FolderSync",
        el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
      )
    );
    await phone.sync();

    let delivered = 0;
    const imapDeleted = new Set<string>();
    const deliver = async () => {
      const subject = `m${delivered++}`;
      const big = random() < 0.15
        ? "\r\n" + "large body line for ItemOperations truncation\r\n".repeat(4000)
        : "";
      await box.mailstore.deliver(
        user.name,
        `From: bob@example.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@rel>\r\n\r\nbody ${subject}${big}\r\n`,
      );
    };
    for (let i = 0; i < 5; i++) await deliver();

    for (let cycle = 0; cycle < options.cycles; cycle++) {
      // Server side: deliveries, a flag change, an expunge.
      const adds = Math.floor(random() * 3);
      for (let i = 0; i < adds; i++) await deliver();
      const truth = await imapTruth(box.mailstore, user.name);
      const uids = [...truth.items.entries()];
      if (uids.length && random() < 0.5) {
        const [, item] = uids[Math.floor(random() * uids.length)]!;
        await imapCommand(box.mailstore, user.name, [
          "SELECT INBOX",
          `UID STORE ${item.uid} ${item.seen ? "-" : "+"}FLAGS (\\Seen)`,
        ]);
      }
      if (uids.length > 3 && random() < 0.3) {
        const [subject, item] = uids[Math.floor(random() * uids.length)]!;
        await imapCommand(box.mailstore, user.name, [
          "SELECT INBOX",
          `UID STORE ${item.uid} +FLAGS (\\Deleted)`,
          `UID EXPUNGE ${item.uid}`,
        ]);
        imapDeleted.add(subject);
      }
      // Phone side: a Read change and sometimes a Delete, sent with the next Sync.
      const known = [...phone.model.entries()];
      const commands: WbxmlElement[] = [];
      if (known.length && random() < 0.5) {
        const [id, item] = known[Math.floor(random() * known.length)]!;
        item.read = !item.read;
        commands.push(
          el(
            AS,
            "Change",
            textEl(AS, "ServerId", id),
            el(AS, "ApplicationData", textEl("Email", "Read", item.read ? 1 : 0)),
          ),
        );
      }
      if (known.length > 3 && random() < 0.25) {
        const [id] = known[Math.floor(random() * known.length)]!;
        if (!commands.some((c) => childText(c, "ServerId") === id)) {
          commands.push(el(AS, "Delete", textEl(AS, "ServerId", id)));
        }
      }
      await phone.sync(commands);
      // ItemOperations of a random item: cut mid-body every other time, retried until whole.
      if (cycle % 4 === 0 && phone.model.size) {
        const ids = [...phone.model.keys()];
        const id = ids[Math.floor(random() * ids.length)]!;
        await phone.exchange(() =>
          client.command(
            "ItemOperations",
            el(
              "ItemOperations",
              "ItemOperations",
              el(
                "ItemOperations",
                "Fetch",
                textEl("ItemOperations", "Store", "Mailbox"),
                textEl(AS, "CollectionId", collection),
                textEl(AS, "ServerId", id),
                el(
                  "ItemOperations",
                  "Options",
                  el("AirSyncBase", "BodyPreference", textEl("AirSyncBase", "Type", 1)),
                ),
              ),
            ),
          )
        );
      }
      if (options.reportEvery && (cycle + 1) % options.reportEvery === 0) {
        console.error(
          `lost-responses: ${cycle + 1}/${options.cycles} cycles, ${phone.errors} retried errors`,
        );
      }
    }
    // Drain: sync until the phone has everything (faults still on).
    for (let i = 0; i < 5; i++) await phone.sync();

    const truth = await imapTruth(box.mailstore, user.name);
    let lost = 0;
    let duplicated = phone.duplicatedAdds + truth.duplicates;
    const phoneSubjects = new Map<string, PhoneItem>();
    for (const item of phone.model.values()) {
      if (phoneSubjects.has(item.subject)) duplicated++;
      phoneSubjects.set(item.subject, item);
    }
    for (const [subject, item] of truth.items) {
      const held = phoneSubjects.get(subject);
      if (!held) lost++; // on the server, never reached the phone
      else if (held.read !== item.seen) lost++; // a flag change lost on one side
    }
    for (const subject of phoneSubjects.keys()) if (!truth.items.has(subject)) duplicated++; // a ghost
    // Server side: everything delivered and not deleted by either side is there, exactly once.
    for (let i = 0; i < delivered; i++) {
      const subject = `m${i}`;
      const gone = imapDeleted.has(subject) || phone.deleted.has(subject);
      if (!gone && !truth.items.has(subject)) lost++;
      if (gone && truth.items.has(subject)) duplicated++;
    }
    const recovery = phone.recoveryMs.length ? Math.max(...phone.recoveryMs) : 0;
    return {
      scenario: "lost responses (fault proxy)",
      cycles: options.cycles,
      lost,
      duplicated,
      errors: phone.resyncs,
      recoveryMs: Math.round(recovery),
      notes: `${phone.errors} client-visible faults retried; proxy ${JSON.stringify(proxy.stats)}; ` +
        `${delivered} delivered, ${imapDeleted.size} expunged, ${phone.deleted.size} deleted by the phone; ` +
        `${Math.round((performance.now() - started) / 1000)} s`,
    };
  } finally {
    await proxy.close();
    await box.stop();
  }
}
