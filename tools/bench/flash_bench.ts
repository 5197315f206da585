/**
 * Flash wear benchmark (issue 10): bytes the box writes to its storage.
 *
 * The box runs as its own process (this file with `--serve`) with its data
 * directory on the real disk, and the figure is the process's `write_bytes`
 * from `/proc/<pid>/io`: bytes it caused to be written to the block layer
 * (SQLite pages, WAL, certificate files, anything else), counted when pages
 * are dirtied (a page rewritten while still dirty in the page cache counts
 * once, as it reaches the flash once). tmpfs would read 0, so the data directory is never in /tmp
 * when /tmp is tmpfs.
 *
 * 1. An idle "day" of held Pings, compressed: several devices of one user
 *    Ping INBOX in a loop with a 1 s heartbeat (the serving process lowers
 *    the protocol's 60 s minimum, PUSH_LIMITS.heartbeatMinSeconds, for this
 *    run only), through the real EAS front door and a real Dovecot watcher.
 *    Extrapolated to a day at a 480 s heartbeat (180 Pings per device).
 *    Timers that run by the wall clock (maintenance, pollers) are only
 *    counted for the run's own minutes, not for a day.
 * 2. A full initial Sync of 1,000 delivered messages (LMTP into Dovecot)
 *    through the real EAS client. Baselines in the same run: the size of the
 *    SQLite state left behind (database + WAL), and the bytes of the messages
 *    themselves (what a box that kept a local copy of the mail would write at
 *    least once).
 */
import { PUSH_LIMITS } from "../../src/push/limits.ts";
import { child, childrenNamed, childText, el, textEl } from "../../src/wbxml/mod.ts";
import { startMailstore } from "../../tests/harness/mod.ts";
import { pingRequest, syncRequest } from "../eas_client/requests.ts";
import { EasClient } from "../eas_client/client.ts";
import { type BenchContext, printTable, writeResult } from "./context.ts";

const AS = "AirSync";
/** Heartbeat of the compressed day, and the one a real day is extrapolated at (a common phone value). */
const FAST_HEARTBEAT_SECONDS = 1;
const DAY_HEARTBEAT_SECONDS = 480;
const PINGS_PER_DAY = (24 * 3600) / DAY_HEARTBEAT_SECONDS;

/** `write_bytes` of a process (Linux /proc/<pid>/io). */
async function processIo(pid: number): Promise<{ writeBytes: number }> {
  const text = await Deno.readTextFile(`/proc/${pid}/io`);
  const field = (name: string) => {
    const match = new RegExp(`^${name}: (\\d+)$`, "m").exec(text);
    if (!match) throw new Error(`Field '${name}' missing in '/proc/${pid}/io'`);
    return Number(match[1]);
  };
  return { writeBytes: field("write_bytes") };
}

/** Size of the SQLite database and its WAL in `dir`. */
async function sqliteBytes(dir: string): Promise<{ db: number; wal: number }> {
  const size = (path: string) => Deno.stat(path).then((s) => s.size, () => 0);
  return { db: await size(`${dir}/pushbridge.sqlite`), wal: await size(`${dir}/pushbridge.sqlite-wal`) };
}

/** A data directory on a disk that counts block writes (not tmpfs). */
async function diskTempDir(): Promise<string> {
  const mounts = await Deno.readTextFile("/proc/mounts");
  const tmpIsTmpfs = mounts.split("\n").some((line) => /^\S+ \/tmp tmpfs /.test(line));
  return await Deno.makeTempDir({ prefix: "pushbridge-flash-", ...(tmpIsTmpfs ? { dir: "/var/tmp" } : {}) });
}

interface ServedBox {
  pid: number;
  easUrl: string;
  caCertPem: string;
  process: Deno.ChildProcess;
}

/** Starts the box as a child process (this module with `--serve`) and waits for its address line. */
async function startBox(env: Record<string, string>): Promise<ServedBox> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(import.meta.url).pathname, "--serve"],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  while (!buffered.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("Box process exited before it printed its address");
    buffered += value;
  }
  // Anything printed later is drained so the pipe never blocks the box.
  (async () => {
    while (!(await reader.read()).done) { /* drained */ }
  })().catch(() => {});
  const ready = JSON.parse(buffered.slice(0, buffered.indexOf("\n"))) as {
    easUrl: string;
    caCertPem: string;
  };
  return { pid: process.pid, process, ...ready };
}

/** Serving mode: the real box, with the Ping minimum lowered so a day of heartbeats fits in a minute. */
async function serve(): Promise<void> {
  (PUSH_LIMITS as { heartbeatMinSeconds: number }).heartbeatMinSeconds = FAST_HEARTBEAT_SECONDS;
  const { resolveSettings } = await import("../../src/config/settings.ts");
  const { silentLogger } = await import("../../src/log/logger.ts");
  const { startPushbridge } = await import("../../src/server.ts");
  const server = await startPushbridge(resolveSettings(Deno.env.toObject()), silentLogger);
  console.log(JSON.stringify({ easUrl: server.easUrl, caCertPem: server.caCertPem ?? "" }));
  Deno.addSignalListener("SIGTERM", () => server.close().finally(() => Deno.exit(0)));
}

/** Sync of INBOX with plain-text bodies cut at 500 bytes (what phones ask on first sync). */
function syncBody(key: string, collectionId: string, window: number) {
  return syncRequest(collectionId, key, [
    textEl(AS, "WindowSize", window),
    el(
      AS,
      "Options",
      textEl(AS, "FilterType", 0),
      el(
        "AirSyncBase",
        "BodyPreference",
        textEl("AirSyncBase", "Type", 1),
        textEl("AirSyncBase", "TruncationSize", 500),
      ),
    ),
  ]);
}

/** INBOX's ServerId after a first FolderSync (which also records the device). */
async function inboxOf(client: EasClient): Promise<string> {
  const folders = await client.command(
    "FolderSync",
    el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
  );
  const inbox = childrenNamed(child(folders.body, "Changes"), "Add").find((a) =>
    childText(a, "Type") === "2"
  );
  const id = childText(inbox, "ServerId");
  if (!id) throw new Error(`FolderSync answered HTTP ${folders.status} without an INBOX`);
  return id;
}

function message(i: number): string {
  const date = new Date(Date.UTC(2026, 9, 1) + i * 60_000);
  return [
    `From: "Sender ${i % 50}" <sender${i % 50}@example.org>`,
    `To: alice@example.test`,
    `Subject: Flash benchmark message ${i}`,
    `Date: ${date.toUTCString().replace("GMT", "+0000")}`,
    `Message-ID: <flash${i}@example.org>`,
    `Content-Type: text/plain; charset=utf-8`,
    ``,
    `Hello, this is message ${i}. `.repeat(20),
    ``,
  ].join("\r\n");
}

/** The benchmark (see module doc). */
export async function bench(ctx: BenchContext): Promise<void> {
  // Full run: 1,800 Pings = 10 device-days at 480 s, spread over 20 devices so it takes ~3 minutes.
  const devices = ctx.quick ? 4 : 20;
  const cyclesPerDevice = ctx.quick ? 20 : PINGS_PER_DAY / 2;
  const messages = 1_000;
  const store = await startMailstore({ postfix: false, sieve: false });
  const dataDir = await diskTempDir();
  let box: ServedBox | undefined;
  const clients: EasClient[] = [];
  try {
    const alice = store.users[0]!;
    box = await startBox({
      PUSHBRIDGE_DATA: dataDir,
      PUSHBRIDGE_LISTEN: "127.0.0.1:0",
      PUSHBRIDGE_SETUP_LISTEN: "127.0.0.1:0",
      PUSHBRIDGE_IMAP_URL: store.imapsUrl,
      PUSHBRIDGE_MAILSTORE_CA: store.caFile,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: dataDir,
    });
    const boxPid = box.pid;
    const newClient = (deviceId: string) => {
      const client = new EasClient({
        url: box!.easUrl,
        user: alice.name,
        password: alice.password,
        deviceId,
        deviceType: "iPhone",
        protocolVersion: "16.1",
        caCerts: [box!.caCertPem],
        timeoutMs: 60_000,
      });
      clients.push(client);
      return client;
    };

    // 1. Idle day: every device known and its INBOX listed first (those writes are setup, not idle).
    const pingers = [];
    for (let d = 0; d < devices; d++) {
      const client = newClient(`flashping${d}`);
      pingers.push({ client, inbox: await inboxOf(client) });
    }
    // One Ping each first: the first Ping of a device stores its Ping parameters.
    await Promise.all(
      pingers.map((p) => p.client.command("Ping", pingRequest(FAST_HEARTBEAT_SECONDS, [p.inbox]))),
    );
    const idleBefore = await processIo(boxPid);
    const idleDbBefore = await sqliteBytes(dataDir);
    const idleStarted = performance.now();
    const statuses = new Map<string, number>();
    await Promise.all(pingers.map(async (p) => {
      for (let i = 0; i < cyclesPerDevice; i++) {
        const reply = await p.client.command("Ping", pingRequest(FAST_HEARTBEAT_SECONDS, [p.inbox]));
        const status = `${reply.status}/${childText(reply.body, "Status") ?? "-"}`;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }));
    const idleSeconds = (performance.now() - idleStarted) / 1000;
    const idleAfter = await processIo(boxPid);
    const idleDbAfter = await sqliteBytes(dataDir);
    const pings = devices * cyclesPerDevice;
    const idleWrite = idleAfter.writeBytes - idleBefore.writeBytes;

    // 2. 1,000 messages delivered by LMTP, then a full initial Sync on a fresh device.
    let mailBytes = 0;
    for (let i = 1; i <= messages; i++) {
      const text = message(i);
      mailBytes += new TextEncoder().encode(text).length;
      await store.deliver(alice.name, text);
    }
    const syncer = newClient("flashsync1");
    const inbox = await inboxOf(syncer);
    const syncBefore = await processIo(boxPid);
    const syncDbBefore = await sqliteBytes(dataDir);
    let wireBytes = 0;
    let synced = 0;
    let key = "0";
    const syncStarted = performance.now();
    for (let round = 0; round < 1_000; round++) {
      const reply = await syncer.command("Sync", syncBody(key, inbox, 100));
      wireBytes += reply.raw.length;
      const collection = child(child(reply.body, "Collections", AS), "Collection", AS);
      const next = childText(collection, "SyncKey", AS);
      if (!next) throw new Error(`Sync answered HTTP ${reply.status} without a SyncKey`);
      synced += childrenNamed(child(collection, "Commands", AS), "Add", AS).length;
      const more = child(collection, "MoreAvailable", AS) !== undefined;
      if (key !== "0" && !more) break;
      key = next;
    }
    const syncSeconds = (performance.now() - syncStarted) / 1000;
    const syncAfter = await processIo(boxPid);
    const syncDbAfter = await sqliteBytes(dataDir);
    const syncWrite = syncAfter.writeBytes - syncBefore.writeBytes;
    if (synced !== messages) throw new Error(`Initial sync gave '${synced}' items, expected '${messages}'`);

    const kib = (n: number) => (n / 1024).toFixed(1);
    printTable(
      `Idle: ${pings} held Pings (${devices} devices x ${cyclesPerDevice}, heartbeat ${FAST_HEARTBEAT_SECONDS} s, ${
        idleSeconds.toFixed(0)
      } s; answers ${JSON.stringify(Object.fromEntries(statuses))})`,
      [
        "measure",
        "KiB",
        "bytes per Ping",
        `per device-day (${PINGS_PER_DAY} Pings at ${DAY_HEARTBEAT_SECONDS} s)`,
      ],
      [
        [
          "box write_bytes",
          kib(idleWrite),
          (idleWrite / pings).toFixed(1),
          kib((idleWrite / pings) * PINGS_PER_DAY),
        ],
        [
          "SQLite db + WAL growth",
          kib(idleDbAfter.db + idleDbAfter.wal - idleDbBefore.db - idleDbBefore.wal),
          "-",
          "-",
        ],
      ],
    );
    printTable(`Initial Sync of ${messages} messages (window 100, ${syncSeconds.toFixed(1)} s)`, [
      "measure",
      "KiB",
      "bytes per message",
    ], [
      ["box write_bytes during the Sync", kib(syncWrite), (syncWrite / messages).toFixed(1)],
      [
        "baseline: SQLite db + WAL (size after; growth per message)",
        kib(syncDbAfter.db + syncDbAfter.wal),
        ((syncDbAfter.db + syncDbAfter.wal - syncDbBefore.db - syncDbBefore.wal) / messages).toFixed(1),
      ],
      [
        "baseline: the messages' own bytes (a local mail copy)",
        kib(mailBytes),
        (mailBytes / messages).toFixed(1),
      ],
      ["EAS responses on the wire (not written)", kib(wireBytes), (wireBytes / messages).toFixed(1)],
    ]);
    await writeResult(ctx, "flash", {
      quick: ctx.quick,
      method: "write_bytes of the box process from /proc/<pid>/io, data directory on the real disk",
      idle: {
        devices,
        pings,
        heartbeatSeconds: FAST_HEARTBEAT_SECONDS,
        seconds: idleSeconds,
        answers: Object.fromEntries(statuses),
        writeBytes: idleWrite,
        bytesPerPing: idleWrite / pings,
        bytesPerDeviceDay: (idleWrite / pings) * PINGS_PER_DAY,
        dayHeartbeatSeconds: DAY_HEARTBEAT_SECONDS,
        sqliteGrowthBytes: idleDbAfter.db + idleDbAfter.wal - idleDbBefore.db - idleDbBefore.wal,
      },
      initialSync: {
        messages,
        seconds: syncSeconds,
        writeBytes: syncWrite,
        sqliteAfter: syncDbAfter,
        sqliteGrowthBytes: syncDbAfter.db + syncDbAfter.wal - syncDbBefore.db - syncDbBefore.wal,
        messageBytes: mailBytes,
        wireBytes,
      },
    });
  } finally {
    for (const client of clients) client.close();
    if (box) {
      box.process.kill("SIGTERM");
      await box.process.status;
    }
    await store.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main && Deno.args.includes("--serve")) await serve();
