/**
 * Initial mail sync of a large INBOX through the whole box: real TLS, real
 * EAS client, real Dovecot. Reports items/s beside a baseline (a raw IMAP
 * FETCH of the same headers with our IMAP client); the peak RSS growth of the
 * box alone, run as `pushbridge serve` in a subprocess (VmRSS sampled from
 * /proc, VmHWM), for text-preview windows of 512 and for windows of 25 whole
 * MIME messages, at three folder sizes in the same run (a tenth, half and all
 * of the messages, each in its own mailbox and a fresh server process), with
 * V8's defaults and with the V8 flags recommended for the appliance; the
 * in-process figure (box + client); and for a no-change incremental sync the
 * IMAP commands the mail backend issued and the SQLite rows written.
 *
 * Where the growth came from (measured with Deno.memoryUsage() and
 * /proc/self/status in the server, --trace-gc, 10,000 messages): a quarter
 * outside the V8 heap, one sqlite3_stmt (~4 KB) prepared per item upsert and
 * freed only when V8 collected its wrapper (now reused, src/store/database.ts);
 * the rest V8's old space filling with promoted garbage (live heap after a
 * full GC stayed at ~13 MB), because a 512-item text window was fetched,
 * converted and encoded as one block that outlived several scavenges. Text
 * windows are now streamed item by item like MIME ones and fetched in
 * batches of 64. What is left is V8 sizing its heap to the allocation rate;
 * `--optimize-for-size` (no hard limit, so no out-of-memory crash under load)
 * keeps it small. PUSHBRIDGE_BENCH_V8_FLAGS replaces the compared flags, e.g.
 * `--max-old-space-size=64`.
 */
import { MAIL_IMAP_STATS } from "../../src/bridge/imap/_mail_session_imap.ts";
import { ImapClient } from "../../src/bridge/imap/imap_client.ts";
import { resolveSettings } from "../../src/config/settings.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { startPushbridge } from "../../src/server.ts";
import { TLS_FILES } from "../../src/tls/load.ts";
import { child, childrenNamed, childText, el, textEl } from "../../src/wbxml/mod.ts";
import { type HarnessUser, startMailstore } from "../../tests/harness/mod.ts";
import { EasClient } from "../eas_client/client.ts";
import { mailOptions, syncRequest } from "../eas_client/requests.ts";
import { type BenchContext, printTable, writeResult } from "./context.ts";

const AS = "AirSync";

/** Writes `count` small messages straight into the maildir before Dovecot first opens it (fast seeding). */
async function seedMaildir(home: string, count: number): Promise<void> {
  const maildir = `${home}/Maildir`;
  // Dovecot's mail processes run as the owner of the home; the maildir must be theirs to index it.
  const owner = await Deno.stat(home);
  const own = (path: string) =>
    owner.uid !== null && owner.gid !== null ? Deno.chown(path, owner.uid, owner.gid) : Promise.resolve();
  for (const sub of ["", "/cur", "/new", "/tmp"]) {
    await Deno.mkdir(`${maildir}${sub}`, { recursive: true });
    await own(`${maildir}${sub}`);
  }
  const base = Date.UTC(2026, 9, 1);
  const writes: Promise<void>[] = [];
  for (let i = 1; i <= count; i++) {
    const date = new Date(base + i * 60_000);
    const text = [
      `From: "Sender ${i % 50}" <sender${i % 50}@example.org>`,
      `To: alice@example.test`,
      `Subject: Benchmark message ${i}`,
      `Date: ${date.toUTCString().replace("GMT", "+0000")}`,
      `Message-ID: <bench${i}@example.org>`,
      `Content-Type: text/plain; charset=utf-8`,
      ``,
      `Hello, this is message ${i}. `.repeat(20),
      ``,
    ].join("\r\n");
    const path = `${maildir}/cur/${date.getTime() / 1000}.bench${i}.pushbridge:2,${i % 3 ? "S" : ""}`;
    writes.push(
      Deno.writeTextFile(path, text).then(() => own(path)).then(() => Deno.utime(path, date, date)),
    );
    if (writes.length >= 256) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
}

/** Samples RSS every 20 ms while `work` runs; returns its result and the peak. */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = Deno.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 20);
  try {
    const result = await work();
    peak = Math.max(peak, Deno.memoryUsage().rss);
    return { result, peak };
  } finally {
    clearInterval(timer);
  }
}

/** `pushbridge serve` in a subprocess, its EAS URL and CA, and its memory as the kernel reports it. */
interface ServerProcess {
  easUrl: string;
  caCertPem: string;
  /** VmRSS and VmHWM (peak) in bytes. */
  memory(): Promise<{ rss: number; hwm: number }>;
  stop(): Promise<void>;
}

async function startServerProcess(env: Record<string, string>, v8Flags: string): Promise<ServerProcess> {
  const main = new URL("../../src/main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...(v8Flags ? [`--v8-flags=${v8Flags}`] : []), main, "serve"],
    env,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let easUrl: string | undefined;
  const deadline = Date.now() + 60_000;
  while (easUrl === undefined) {
    if (Date.now() > deadline) throw new Error("Server process did not report its URL within 60 s");
    const { value, done } = await lines.read();
    if (done) throw new Error(`Server process exited before listening: "${text.trim()}"`);
    text += value;
    easUrl = /Exchange ActiveSync: (\S+)\/Microsoft-Server-ActiveSync/.exec(text)?.[1];
  }
  // Keep draining stdout so the server never blocks on a full pipe.
  void (async () => {
    while (!(await lines.read().catch(() => ({ done: true }))).done) { /* drain */ }
  })();
  const caCertPem = await Deno.readTextFile(`${env.PUSHBRIDGE_DATA}/tls/${TLS_FILES.caCert}`);
  const kb = (status: string, field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) * 1024;
  return {
    easUrl,
    caCertPem,
    async memory() {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      return { rss: kb(status, "VmRSS"), hwm: kb(status, "VmHWM") };
    },
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** Samples the server's VmRSS every 20 ms until stopped; growth is measured from the RSS at the start. */
async function sampleServerRss(server: ServerProcess) {
  const before = (await server.memory()).rss;
  let peak = before;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, (await server.memory()).rss);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    /** Peak growth so far. */
    growth: () => peak - before,
    async stop(): Promise<number> {
      sampling = false;
      await sampler;
      peak = Math.max(peak, (await server.memory()).rss);
      return peak - before;
    },
  };
}

/** Body preferences of the two device kinds: a 500-byte plain text preview, or whole MIME (type 4). */
function syncOptions(mime: boolean) {
  return mime
    ? mailOptions({ filterType: 0, bodyType: 4 })
    : mailOptions({ filterType: 0, bodyType: 1, truncation: 500 });
}

/** A device of the benchmark: FolderSync, then Sync windows of the INBOX. */
async function benchDevice(
  easUrl: string,
  caCertPem: string,
  user: { name: string; password: string },
  id: string,
) {
  const client = new EasClient({
    url: easUrl,
    user: user.name,
    password: user.password,
    deviceId: id,
    deviceType: "iPhone",
    protocolVersion: "16.1",
    caCerts: [caCertPem],
  });
  const folders = await client.command(
    "FolderSync",
    el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
  );
  const inbox = childText(
    childrenNamed(child(folders.body, "Changes"), "Add").find((a) => childText(a, "Type") === "2"),
    "ServerId",
  )!;
  const syncOnce = async (key: string, window: number, mime: boolean) => {
    const reply = await client.command(
      "Sync",
      syncRequest(inbox, key, [textEl(AS, "WindowSize", window), syncOptions(mime)]),
    );
    const c = child(child(reply.body, "Collections", AS), "Collection", AS);
    return {
      key: childText(c, "SyncKey", AS)!,
      adds: childrenNamed(child(c, "Commands", AS), "Add", AS).length,
      more: child(c, "MoreAvailable", AS) !== undefined,
    };
  };
  /** SyncKey 0, then windows until MoreAvailable is gone; the items received and the last key. */
  const initial = async (window: number, mime: boolean, onWindow?: (items: number) => void) => {
    let key = (await syncOnce("0", window, mime)).key;
    let items = 0;
    for (let round = 0; round < 100_000; round++) {
      const r = await syncOnce(key, window, mime);
      items += r.adds;
      key = r.key;
      onWindow?.(items);
      if (!r.more) break;
    }
    return { items, key };
  };
  return { client, syncOnce, initial };
}

/** V8 flags recommended for the appliance's server process (see the module doc), compared with V8's defaults. */
export const RECOMMENDED_V8_FLAGS = "--optimize-for-size";

/** One initial sync by a fresh `pushbridge serve`. */
interface ServerRun {
  path: string;
  v8Flags: string;
  messages: number;
  items: number;
  ms: number;
  growth: number;
  hwm: number;
}

/** The benchmark (see module doc). */
export async function bench(ctx: BenchContext): Promise<void> {
  const count = ctx.quick ? 1_000 : 10_000;
  // Folder sizes compared in one run, each in its own user's INBOX: carol, bob, alice.
  const sizes = [count / 10, count / 2, count];
  const store = await startMailstore({ postfix: false, sieve: false });
  const dataDir = await Deno.makeTempDir({ prefix: "pushbridge-bench-" });
  const processDir = await Deno.makeTempDir({ prefix: "pushbridge-bench-serve-" });
  try {
    const [alice, bob, carol] = store.users as [HarnessUser, HarnessUser, HarnessUser];
    const bySize = [carol, bob, alice];
    for (const [i, user] of bySize.entries()) await seedMaildir(`${store.dir}/mail/${user.name}`, sizes[i]!);

    // Baseline: our IMAP client alone fetching the same headers (after one SELECT so indexing is not counted).
    const imap = await ImapClient.connect({ url: store.imapsUrl, tls: { caCerts: [store.caPem] } });
    await imap.login(alice.name, alice.password);
    await imap.examine("INBOX");
    const baselineStart = performance.now();
    let fetched = 0;
    for await (
      const _ of imap.fetch("1:*", "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER])")
    ) fetched++;
    const baselineMs = performance.now() - baselineStart;
    await imap.logout();

    const env = {
      PUSHBRIDGE_LISTEN: "127.0.0.1:0",
      PUSHBRIDGE_SETUP_LISTEN: "127.0.0.1:0",
      PUSHBRIDGE_IMAP_URL: store.imapsUrl,
      PUSHBRIDGE_MAILSTORE_CA: store.caFile,
    };

    // 1. The box in this process: items/s, RSS of box + client, and the no-change incremental Sync.
    const server = await startPushbridge(resolveSettings({ ...env, PUSHBRIDGE_DATA: dataDir }), silentLogger);
    const device = await benchDevice(server.easUrl, server.caCertPem!, alice, "bench1");
    let inProcess: { items: number; ms: number; growth: number };
    let idleCommands: number, idleWrites: number, idleNewKey: boolean;
    try {
      const rssBefore = Deno.memoryUsage().rss;
      const started = performance.now();
      const { result: { items, key }, peak } = await withPeakRss(() => device.initial(512, false));
      inProcess = { items, ms: performance.now() - started, growth: peak - rssBefore };
      const writesOf = () => server.store.db.get<{ n: number }>("SELECT total_changes() AS n")!.n;
      await device.syncOnce(key, 512, false); // settles the stored cursor
      const commandsBefore = MAIL_IMAP_STATS.commands;
      const writesBefore = writesOf();
      const idle = await device.syncOnce(key, 512, false);
      idleCommands = MAIL_IMAP_STATS.commands - commandsBefore;
      idleWrites = writesOf() - writesBefore;
      idleNewKey = idle.key !== key;
    } finally {
      device.client.close();
      await server.close();
    }

    // 2. The box alone as `pushbridge serve`: peak RSS growth of the server process only, per folder
    // size, body kind and V8 flags. Each run in a fresh process and data dir, so no run's heap or
    // state carries into the next; flat means the three sizes show about the same growth.
    const flagSets = ["", Deno.env.get("PUSHBRIDGE_BENCH_V8_FLAGS") ?? RECOMMENDED_V8_FLAGS];
    const paths = [["text preview, window 512", 512, false], ["whole MIME, window 25", 25, true]] as const;
    const runs: ServerRun[] = [];
    let serial = 0;
    for (const v8Flags of flagSets) {
      for (const [label, window, mime] of paths) {
        for (const [i, user] of bySize.entries()) {
          const id = `serve${++serial}`;
          const serve = await startServerProcess(
            { ...Deno.env.toObject(), ...env, PUSHBRIDGE_DATA: `${processDir}/${id}` },
            v8Flags,
          );
          const phone = await benchDevice(serve.easUrl, serve.caCertPem, user, id);
          try {
            const started = performance.now();
            const sampler = await sampleServerRss(serve);
            const { items } = await phone.initial(window, mime);
            const growth = await sampler.stop();
            const { hwm } = await serve.memory();
            runs.push({
              path: label,
              v8Flags,
              messages: sizes[i]!,
              items,
              ms: performance.now() - started,
              growth,
              hwm,
            });
          } finally {
            phone.client.close();
            await serve.stop();
          }
        }
      }
    }

    const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
    const rate = (items: number, ms: number) => Math.round(items / (ms / 1000));
    const largest = runs.filter((r) => r.messages === count);
    printTable(
      `Initial sync of ${count} messages`,
      ["path", "items", "ms", "items/s", "peak RSS growth MB"],
      [
        [
          "raw IMAP FETCH of headers (baseline)",
          fetched,
          Math.round(baselineMs),
          rate(fetched, baselineMs),
          "-",
        ],
        [
          "EAS Sync, text preview, window 512 (box + client in one process)",
          inProcess.items,
          Math.round(inProcess.ms),
          rate(inProcess.items, inProcess.ms),
          mb(inProcess.growth),
        ],
        ...largest.map((r) => [
          `EAS Sync, ${r.path} (server process only${r.v8Flags ? `, ${r.v8Flags}` : ""})`,
          r.items,
          Math.round(r.ms),
          rate(r.items, r.ms),
          mb(r.growth),
        ]),
      ],
    );
    printTable(
      "Peak RSS growth of the server process by folder size (MB; flat: it does not follow the folder)",
      ["path", "V8 flags", ...sizes.map((n) => `${n} messages`), "VmHWM MB (largest)"],
      flagSets.flatMap((v8Flags) =>
        paths.map(([label]) => {
          const mine = runs.filter((r) => r.path === label && r.v8Flags === v8Flags);
          return [
            label,
            v8Flags || "(defaults)",
            ...sizes.map((n) => mb(mine.find((r) => r.messages === n)?.growth ?? NaN)),
            mb(mine.find((r) => r.messages === count)?.hwm ?? NaN),
          ];
        })
      ),
    );
    printTable("No-change incremental Sync of one folder", [
      "IMAP commands",
      "SQLite rows written",
      "new key",
    ], [[
      idleCommands,
      idleWrites,
      idleNewKey ? "yes" : "no",
    ]]);
    await writeResult(ctx, "mail_sync", {
      messages: count,
      baseline: { items: fetched, ms: baselineMs, itemsPerSecond: fetched / (baselineMs / 1000) },
      initialSync: {
        items: inProcess.items,
        ms: inProcess.ms,
        itemsPerSecond: inProcess.items / (inProcess.ms / 1000),
        peakRssGrowthBytes: inProcess.growth,
        rssNote: "RSS of the benchmark process, which runs the box and the EAS client",
      },
      serverProcess: {
        rssNote:
          "VmRSS of `pushbridge serve` alone, sampled every 20 ms from /proc during the initial sync; " +
          "one fresh process per run",
        folderSizes: sizes,
        runs: runs.map((r) => ({
          path: r.path,
          v8Flags: r.v8Flags,
          messages: r.messages,
          items: r.items,
          ms: r.ms,
          itemsPerSecond: r.items / (r.ms / 1000),
          peakRssGrowthBytes: r.growth,
          vmHwmBytes: r.hwm,
        })),
      },
      noChangeSync: { imapCommands: idleCommands, sqliteRowsWritten: idleWrites },
    });
  } finally {
    await store.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    await Deno.remove(processDir, { recursive: true }).catch(() => {});
  }
}
