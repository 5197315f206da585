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
import { compareWithTruth, imapTruth, Phone } from "./phone.ts";
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
    let { lost, duplicated } = compareWithTruth(phone, truth);
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
