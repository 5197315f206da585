/**
 * Initial mail sync of a large INBOX through the whole box: real TLS, real
 * EAS client, real Dovecot. Reports items/s beside a baseline (a raw IMAP
 * FETCH of the same headers with our IMAP client), the RSS growth of this
 * process (the box runs in-process, so the figure includes the client side),
 * and for a no-change incremental sync the IMAP commands the mail backend
 * issued and the SQLite rows written.
 */
import { MAIL_IMAP_STATS } from "../../src/bridge/imap/_mail_session_imap.ts";
import { ImapClient } from "../../src/bridge/imap/imap_client.ts";
import { resolveSettings } from "../../src/config/settings.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { startPushbridge } from "../../src/server.ts";
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

/** The benchmark (see module doc). */
export async function bench(ctx: BenchContext): Promise<void> {
  const count = ctx.quick ? 1_000 : 10_000;
  const store = await startMailstore({ postfix: false, sieve: false });
  const dataDir = await Deno.makeTempDir({ prefix: "pushbridge-bench-" });
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

    const server = await startPushbridge(
      resolveSettings({
        PUSHBRIDGE_DATA: dataDir,
        PUSHBRIDGE_LISTEN: "127.0.0.1:0",
        PUSHBRIDGE_SETUP_LISTEN: "127.0.0.1:0",
        PUSHBRIDGE_IMAP_URL: store.imapsUrl,
        PUSHBRIDGE_MAILSTORE_CA: store.caFile,
      }),
      silentLogger,
    );
    const client = new EasClient({
      url: server.easUrl,
      user: alice.name,
      password: alice.password,
      deviceId: "bench1",
      deviceType: "iPhone",
      protocolVersion: "16.1",
      ...(server.caCertPem ? { caCerts: [server.caCertPem] } : {}),
    });
    try {
      const folders = await client.command(
        "FolderSync",
        el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
      );
      const inbox = childText(
        childrenNamed(child(folders.body, "Changes"), "Add").find((a) => childText(a, "Type") === "2"),
        "ServerId",
      )!;
      const syncOnce = async (key: string, window = 512) => {
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
      let key = (await syncOnce("0")).key;
      const rssBefore = Deno.memoryUsage().rss;
      const started = performance.now();
      const { result: synced, peak } = await withPeakRss(async () => {
        let total = 0;
        for (let round = 0; round < 1000; round++) {
          const r = await syncOnce(key);
          total += r.adds;
          key = r.key;
          if (!r.more) break;
        }
        return total;
      });
      const syncMs = performance.now() - started;

      const writesOf = () => server.store.db.get<{ n: number }>("SELECT total_changes() AS n")!.n;
      await syncOnce(key); // settles the stored cursor
      const commandsBefore = MAIL_IMAP_STATS.commands;
      const writesBefore = writesOf();
      const idle = await syncOnce(key);
      const idleCommands = MAIL_IMAP_STATS.commands - commandsBefore;
      const idleWrites = writesOf() - writesBefore;

      const rows = [
        [
          "raw IMAP FETCH of headers (baseline)",
          fetched,
          Math.round(baselineMs),
          Math.round(fetched / (baselineMs / 1000)),
          "-",
        ],
        [
          "EAS initial Sync over TLS (window 512)",
          synced,
          Math.round(syncMs),
          Math.round(synced / (syncMs / 1000)),
          ((peak - rssBefore) / 1048576).toFixed(1),
        ],
      ];
      printTable(`Initial sync of ${count} messages`, [
        "path",
        "items",
        "ms",
        "items/s",
        "peak RSS growth MB",
      ], rows);
      printTable("No-change incremental Sync of one folder", [
        "IMAP commands",
        "SQLite rows written",
        "new key",
      ], [[
        idleCommands,
        idleWrites,
        idle.key === key ? "no" : "yes",
      ]]);
      await writeResult(ctx, "mail_sync", {
        messages: count,
        baseline: { items: fetched, ms: baselineMs, itemsPerSecond: fetched / (baselineMs / 1000) },
        initialSync: {
          items: synced,
          ms: syncMs,
          itemsPerSecond: synced / (syncMs / 1000),
          peakRssGrowthBytes: peak - rssBefore,
          rssNote: "RSS of the benchmark process, which runs the box and the EAS client",
        },
        noChangeSync: { imapCommands: idleCommands, sqliteRowsWritten: idleWrites },
      });
    } finally {
      client.close();
      await server.close();
    }
  } finally {
    await store.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}
