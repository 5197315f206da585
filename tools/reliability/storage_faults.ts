/**
 * Scenario "storage faults": the box runs as its own process with its data dir on a small ext4
 * partition of its own (tools/reliability/data_partition.ts). Each cycle takes the store away one
 * of three ways while a phone holds a Ping:
 *
 * - locked: another process holds a write transaction on the SQLite file (as the admin CLI or a
 *   restore would, but for seconds);
 * - full: the partition is filled until writes fail with ENOSPC;
 * - read-only: the partition turns read-only under the running box (ext4 errors=remount-ro).
 *
 * While the fault is on, the held Ping must still be answered when mail arrives, a FolderSync
 * with nothing new must still answer 200 (reads need no writes), and a Sync that has to write
 * (a new mail, a Read change from the phone) and a device the box has never seen must get a
 * retryable answer (503 with Retry-After), never 500 and never a long stall of the event loop.
 * Then the fault ends (lock released; space freed; for read-only: the box stops, the partition
 * is fsck'd and mounted again, the box starts, as after a reboot) and the phone repeats the
 * refused request unchanged (for read-only, the box first restarts on the still read-only
 * partition and must serve reads and refuse writes there too): the same SyncKey carries on (no resync), the database passes
 * PRAGMA integrity_check, and the phone and IMAP agree on every item and flag.
 *
 * @module
 */
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import type { EasReply } from "../eas_client/client.ts";
import { startMailstore } from "../../tests/harness/mod.ts";
import { pingBytes } from "../load/ping_load.ts";
import { BoxProcess } from "./box_process.ts";
import { DataPartition, mountUnavailable } from "./data_partition.ts";
import { compareWithTruth, imapTruth, Phone, retryable } from "./phone.ts";
import type { ScenarioResult } from "./result.ts";

const FH = "FolderHierarchy";
const AS = "AirSync";

/** Options of one run. */
export interface StorageFaultOptions {
  cycles: number;
}

/** How the store is taken away in a cycle. */
export type StorageFaultKind = "locked" | "full" | "read-only";
const KINDS: StorageFaultKind[] = ["locked", "full", "read-only"];

/**
 * A request answered later than this during a fault counts as a stall (errors column): below the
 * 5 s the event loop used to sleep per write on a locked file, above what a loaded 2-core test
 * machine needs for a first request after a restart (IMAP login included).
 */
const STALL_MS = 4_000;

/** Another process holding a write transaction on the box's database until release(). */
async function holdWriteLock(path: string): Promise<{ release(): Promise<void> }> {
  const script = `
    import { DatabaseSync } from "node:sqlite";
    const db = new DatabaseSync(${JSON.stringify(path)});
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("BEGIN IMMEDIATE");
    console.log("locked");
    for await (const _ of Deno.stdin.readable) { /* held until stdin closes */ }
    db.exec("ROLLBACK");
    db.close();
  `;
  const holder = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    env: { DENO_NO_UPDATE_CHECK: "1" },
  }).spawn();
  const reader = holder.stdout.getReader();
  let said = "";
  while (!said.includes("locked")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("The lock holder exited before taking the lock");
    said += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return {
    async release() {
      await holder.stdin.close();
      await holder.stdout.cancel();
      await holder.status;
    },
  };
}

/** Runs the scenario on its own mailstore, partition and box process; returns its table row. */
export async function runStorageFaults(options: StorageFaultOptions): Promise<ScenarioResult> {
  const why = mountUnavailable();
  if (why) throw new Error(`Storage faults need a partition of their own: ${why}`);
  const mailstore = await startMailstore();
  const partition = await DataPartition.create(32);
  const box = new BoxProcess(partition.dir, mailstore);
  const started = performance.now();
  const problems: string[] = [];
  const recovery: number[] = [];
  const slowest = { ping: 0, read: 0, refusal: 0 };
  let refused = 0;
  let wroteAnyway = 0;
  try {
    await box.start();
    const alice = mailstore.users[0]!;
    const client = box.client(alice.name, alice.password, "storagephone");
    const folders = await client.command("FolderSync", el(FH, "FolderSync", textEl(FH, "SyncKey", "0")));
    const folderKey = childText(folders.body, "SyncKey")!;
    const inbox = childText(
      childrenNamed(child(folders.body, "Changes"), "Add")
        .find((a) => childText(a, "DisplayName")?.toUpperCase() === "INBOX"),
      "ServerId",
    )!;
    const phone = new Phone(client, inbox);
    phone.attempts = 400;
    await mailstore.deliver(alice.name, "From: carol@example.test\r\nSubject: first\r\n\r\nbody\r\n");
    await phone.sync();
    await phone.sync();

    /** Records a request made during the fault: its latency and whether its answer was acceptable. */
    const timed = async (
      what: string,
      slot: keyof typeof slowest,
      send: () => Promise<EasReply>,
      acceptable: (reply: EasReply) => boolean,
    ): Promise<EasReply | undefined> => {
      const t0 = performance.now();
      const reply = await send().catch((error) => {
        problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      });
      const ms = performance.now() - t0;
      slowest[slot] = Math.max(slowest[slot], ms);
      if (ms > STALL_MS) problems.push(`${what}: answered after ${Math.round(ms)} ms`);
      if (reply && !acceptable(reply)) {
        problems.push(`${what}: HTTP ${reply.status} ${new TextDecoder().decode(reply.raw).slice(0, 80)}`);
      }
      return reply;
    };

    for (let cycle = 0; cycle < options.cycles; cycle++) {
      const kind = KINDS[cycle % KINDS.length]!;
      // A held Ping on the Inbox, taken before the fault.
      const ping = client.send("Ping", pingBytes(300, [inbox]), {}, {
        "Content-Type": "application/vnd.ms-sync.wbxml",
      });
      await new Promise((r) => setTimeout(r, 300));

      let release: () => Promise<void>;
      if (kind === "locked") {
        const lock = await holdWriteLock(`${box.dataDir}/pushbridge.sqlite`);
        release = () => lock.release();
      } else if (kind === "full") {
        await partition.fill();
        release = () => partition.free();
      } else {
        await partition.breakToReadOnly();
        release = async () => {
          // A reboot before the repair: the partition comes up read-only again, and the box must
          // start on it and serve what needs no write.
          await box.stop();
          await partition.unmount();
          await partition.mount(true);
          await box.start();
          await timed(
            "FolderSync after a restart on the read-only partition",
            "read",
            () => client.command("FolderSync", el(FH, "FolderSync", textEl(FH, "SyncKey", folderKey))),
            (reply) => reply.status === 200 && childText(reply.body, "Status") === "1",
          );
          if (commands.length) {
            await timed(
              "Sync after a restart on the read-only partition",
              "refusal",
              () => phone.syncOnce(commands),
              retryable,
            );
          }
          await box.stop();
          await partition.repair();
          await box.start();
        };
      }

      // New mail while the store is away: the held Ping still wakes (the Ping path writes nothing).
      await mailstore.deliver(alice.name, `From: carol@example.test\r\nSubject: s${cycle}\r\n\r\nbody\r\n`);
      await timed(
        `Ping held through the ${kind} store`,
        "ping",
        () => ping,
        (reply) => reply.status === 200 && childText(reply.body, "Status") === "2",
      );
      // A read that needs no write: FolderSync with nothing new.
      await timed(
        `FolderSync with nothing new, ${kind} store`,
        "read",
        () => client.command("FolderSync", el(FH, "FolderSync", textEl(FH, "SyncKey", folderKey))),
        (reply) => reply.status === 200 && childText(reply.body, "Status") === "1",
      );
      // A Sync that must write: the new mail and a Read change from the phone.
      const [id, item] = [...phone.model.entries()][cycle % phone.model.size]!;
      item.read = !item.read;
      let commands: WbxmlElement[] = [
        el(
          AS,
          "Change",
          textEl(AS, "ServerId", id),
          el(AS, "ApplicationData", textEl("Email", "Read", item.read ? 1 : 0)),
        ),
      ];
      const reply = await timed(
        `Sync with a change, ${kind} store`,
        "refusal",
        () => phone.syncOnce(commands),
        retryable,
      );
      if (reply?.status === 200) {
        // The WAL still had room (full) or the write came between lock holders: the phone is current.
        wroteAnyway++;
        commands = [];
      } else if (reply?.status === 503) {
        refused++;
      }
      // A device the box has never seen: recording it is a write.
      const stranger = box.client(alice.name, alice.password, `new${cycle}`);
      await timed(
        `first FolderSync of a new device, ${kind} store`,
        "refusal",
        () => stranger.command("FolderSync", el(FH, "FolderSync", textEl(FH, "SyncKey", "0"))),
        retryable,
      );
      stranger.close();

      // The store returns; the phone repeats what was refused, unchanged.
      const ended = performance.now();
      await release();
      await phone.sync(commands);
      recovery.push(performance.now() - ended);
      if (Deno.env.get("RELIABILITY_DEBUG")) {
        console.error(`storage: cycle ${cycle} ${kind}, resyncs ${phone.resyncs}`);
      }
      const integrity = box.integrity();
      if (integrity !== "ok") problems.push(`integrity_check after the ${kind} store: ${integrity}`);
    }
    for (let i = 0; i < 3; i++) await phone.sync();

    const { lost, duplicated } = compareWithTruth(phone, await imapTruth(mailstore, alice.name));
    client.close();
    return {
      scenario: "storage: SQLite locked by another process, partition full, partition read-only",
      cycles: options.cycles,
      lost,
      duplicated,
      errors: problems.length + phone.resyncs,
      recoveryMs: Math.round(Math.max(0, ...recovery)),
      notes: `${problems.length ? "problems: " + problems.slice(0, 4).join("; ") + "; " : ""}` +
        `${refused} Syncs refused with 503, ${wroteAnyway} written anyway; slowest answer during a fault: ` +
        `held Ping ${Math.round(slowest.ping)} ms after the delivery, FolderSync ${
          Math.round(slowest.read)
        } ms, ` +
        `refusal ${Math.round(slowest.refusal)} ms; full resyncs ${phone.resyncs}; ` +
        `${Math.round((performance.now() - started) / 1000)} s`,
    };
  } finally {
    await box.stop();
    await partition.destroy();
    await mailstore.stop();
  }
}
