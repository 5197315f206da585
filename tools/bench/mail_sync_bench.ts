/**
 * Initial mail sync of a large INBOX through the whole box: real TLS, real
 * EAS client, real Dovecot. Reports items/s beside a baseline (a raw IMAP
 * FETCH of the same headers with our IMAP client); the peak RSS growth of
 * the box alone, run as `pushbridge serve` in a subprocess (VmRSS sampled from
 * /proc, VmHWM), for truncated text windows of 512 and for streamed windows of
 * 25 whole MIME messages, beside the in-process figure (box + client); and for
 * a no-change incremental sync the IMAP commands the mail backend issued and
 * the SQLite rows written.
 *
 * The server's RSS follows V8's garbage collection as much as what it keeps:
 * a long initial sync runs with few or no major GCs, so promoted garbage
 * shows as growth. PUSHBRIDGE_BENCH_V8_FLAGS passes V8 flags to the server
 * process to compare, e.g. `--max-old-space-size=64`.
 */
import { MAIL_IMAP_STATS } from "../../src/bridge/imap/_mail_session_imap.ts";
import { ImapClient } from "../../src/bridge/imap/imap_client.ts";
import { resolveSettings } from "../../src/config/settings.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { startPushbridge } from "../../src/server.ts";
import { TLS_FILES } from "../../src/tls/load.ts";
import { child, childrenNamed, childText, el, textEl } from "../../src/wbxml/mod.ts";
import { startMailstore } from "../../tests/harness/mod.ts";
import { EasClient } from "../eas_client/client.ts";
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

async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const main = new URL("../../src/main.ts", import.meta.url).pathname;
  const v8Flags = Deno.env.get("PUSHBRIDGE_BENCH_V8_FLAGS");
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
    ? el(
      AS,
      "Options",
      textEl(AS, "FilterType", 0),
      textEl(AS, "MIMESupport", 2),
      el("AirSyncBase", "BodyPreference", textEl("AirSyncBase", "Type", 4)),
    )
    : el(
      AS,
      "Options",
      textEl(AS, "FilterType", 0),
      el(
        "AirSyncBase",
        "BodyPreference",
        textEl("AirSyncBase", "Type", 1),
        textEl("AirSyncBase", "TruncationSize", 500),
      ),
    );
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
      el(
        AS,
        "Sync",
        el(
          AS,
          "Collections",
          el(
            AS,
            "Collection",
            textEl(AS, "SyncKey", key),
            textEl(AS, "CollectionId", inbox),
            textEl(AS, "WindowSize", window),
            syncOptions(mime),
          ),
        ),
      ),
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

/** The benchmark (see module doc). */
export async function bench(ctx: BenchContext): Promise<void> {
  const count = ctx.quick ? 1_000 : 10_000;
  const store = await startMailstore({ postfix: false, sieve: false });
  const dataDir = await Deno.makeTempDir({ prefix: "pushbridge-bench-" });
  const processDir = await Deno.makeTempDir({ prefix: "pushbridge-bench-serve-" });
  try {
    const alice = store.users[0]!;
    await seedMaildir(`${store.dir}/mail/${alice.name}`, count);

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

    // 2. The box alone as `pushbridge serve`: peak RSS growth of the server process only.
    // Each path in a fresh server process, so one run's heap does not carry into the next.
    // Growth after a tenth, half and all of the messages: flat means the later figures stay put.
    const checkpoints = [count / 10, count / 2, count];
    const separate: {
      label: string;
      items: number;
      ms: number;
      growth: number;
      growthAt: number[];
      hwm: number;
    }[] = [];
    const paths = [["text preview, window 512", 512, false], ["whole MIME, window 25", 25, true]] as const;
    for (const [label, window, mime] of paths) {
      const serve = await startServerProcess({
        ...Deno.env.toObject(),
        ...env,
        PUSHBRIDGE_DATA: `${processDir}/${mime ? "mime" : "text"}`,
      });
      const phone = await benchDevice(serve.easUrl, serve.caCertPem, alice, mime ? "mime1" : "text1");
      try {
        const started = performance.now();
        const sampler = await sampleServerRss(serve);
        const growthAt: number[] = [];
        const { items } = await phone.initial(window, mime, (items) => {
          while (growthAt.length < checkpoints.length - 1 && items >= checkpoints[growthAt.length]!) {
            growthAt.push(sampler.growth());
          }
        });
        const growth = await sampler.stop();
        growthAt.push(growth);
        const { hwm } = await serve.memory();
        separate.push({ label, items, ms: performance.now() - started, growth, growthAt, hwm });
      } finally {
        phone.client.close();
        await serve.stop();
      }
    }

    const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
    const rate = (items: number, ms: number) => Math.round(items / (ms / 1000));
    printTable(
      `Initial sync of ${count} messages`,
      ["path", "items", "ms", "items/s", "peak RSS growth MB", `growth MB after ${checkpoints.join(" / ")}`],
      [
        [
          "raw IMAP FETCH of headers (baseline)",
          fetched,
          Math.round(baselineMs),
          rate(fetched, baselineMs),
          "-",
          "-",
        ],
        [
          "EAS Sync, text preview, window 512 (box + client in one process)",
          inProcess.items,
          Math.round(inProcess.ms),
          rate(inProcess.items, inProcess.ms),
          mb(inProcess.growth),
          "-",
        ],
        ...separate.map((
          r,
        ) => [
          `EAS Sync, ${r.label} (server process only)`,
          r.items,
          Math.round(r.ms),
          rate(r.items, r.ms),
          mb(r.growth),
          r.growthAt.map(mb).join(" / "),
        ]),
      ],
    );
    console.log(
      `server process VmHWM (peak RSS since start, incl. startup): ${
        separate.map((r) => mb(r.hwm)).join(" / ")
      } MB`,
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
        rssNote: "VmRSS of `pushbridge serve` alone, sampled every 20 ms from /proc during the initial sync",
        runs: separate.map((r) => ({
          path: r.label,
          items: r.items,
          ms: r.ms,
          itemsPerSecond: r.items / (r.ms / 1000),
          peakRssGrowthBytes: r.growth,
          vmHwmBytes: r.hwm,
          peakRssGrowthBytesAt: Object.fromEntries(checkpoints.map((c, i) => [c, r.growthAt[i]])),
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
