/**
 * Direct Push benchmark (issue 5): prints numbers, never passes or fails.
 *
 * 1. Memory: N concurrent Pings held over TLS by the box on its own HTTP/1.1
 *    transport (tools/load/ping_target.ts --mode box, as src/server.ts runs
 *    it) beside the same N held by a bare Deno.serve TLS server and by the
 *    box's app on Deno.serve (the listener before issue 11), in the same run;
 *    RSS per held request of each, and the ratio box / bare.
 * 2. Latency: Pings held across many users of a real Dovecot; mail delivered
 *    through LMTP to random users; delivery -> Ping Status 2, p50 and p99; the
 *    IMAP connections open meanwhile (per active user).
 * 3. Quiet hour: Pings expiring in a fast loop (heartbeat 3 s instead of
 *    minutes); SQLite rows changed and database bytes grown meanwhile.
 */
import { resolveSettings } from "../../src/config/settings.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { startPushbridge } from "../../src/server.ts";
import { child, childrenNamed, childText, el, textEl } from "../../src/wbxml/mod.ts";
import { startMailstore } from "../../tests/harness/mod.ts";
import { EasClient } from "../eas_client/client.ts";
import {
  closeAll,
  type HeldPing,
  holdPings,
  LOAD_PASSWORD,
  pingBytes,
  repeatPing,
  type SimDevice,
} from "../load/ping_load.ts";
import { type BenchContext, printTable, writeResult } from "./context.ts";

interface Target {
  port: number;
  caCert: string;
  pid: number;
  process: Deno.ChildProcess;
  http: Deno.HttpClient;
}

interface TargetStats {
  rss: number;
  heapUsed: number;
  held: number;
  totalChanges: number;
  dbBytes: number;
}

/** Targets of tools/load/ping_target.ts. */
type Mode = "box" | "box-serve" | "bare" | "bare-h1" | "hub";

const TARGET = new URL("../load/ping_target.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a target process with its file limit raised as far as the hard limit allows. */
async function startTarget(
  mode: Mode,
  users: number,
  extra: string[] = [],
): Promise<Target> {
  const args = [
    "run",
    "-A",
    "--v8-flags=--expose-gc",
    TARGET,
    "--mode",
    mode,
    "--users",
    String(users),
    ...extra,
  ];
  const command = `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`;
  const process = new Deno.Command("bash", {
    args: ["-c", command, Deno.execPath(), ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Ping target '${mode}' exited before it listened`);
    text += value;
  }
  reader.releaseLock();
  process.stdout.cancel().catch(() => {});
  const info = JSON.parse(text.split("\n")[0]!) as { port: number; caCert: string; pid: number };
  return { ...info, process, http: Deno.createHttpClient({ caCerts: [info.caCert] }) };
}

async function stopTarget(target: Target): Promise<void> {
  target.http.close();
  try {
    target.process.kill("SIGTERM");
  } catch { /* gone */ }
  await target.process.status;
}

async function statsOf(target: Target): Promise<TargetStats> {
  const response = await fetch(
    `https://127.0.0.1:${target.port}/stats`,
    { client: target.http } as RequestInit,
  );
  return await response.json() as TargetStats;
}

async function until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(250);
  }
}

function devicesFor(count: number): SimDevice[] {
  return Array.from(
    { length: count },
    (_, i) => ({ user: `u${i}`, password: LOAD_PASSWORD, deviceId: `SIM${i}` }),
  );
}

async function softFileLimit(): Promise<number> {
  const out = await new Deno.Command("bash", { args: ["-c", "ulimit -n"], stdout: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  return text === "unlimited" ? Infinity : Number(text);
}

interface MemoryRow {
  held: number;
  boxBytesPerPing: number;
  bareBytesPerPing: number;
  /** The box's app behind Deno.serve instead of src/http/http1_server.ts. */
  boxOnDenoServeBytesPerPing: number;
  ratio: number;
  boxRssMb: number;
  bareRssMb: number;
}

const HOLD = new URL("../load/hold_main.ts", import.meta.url).pathname;

/** Runs the load generator as its own process (raised file limit, all sockets freed when it is killed). */
function generator(target: Target, caFile: string, count: number, prefix: string): Deno.ChildProcess {
  const args = ["run", "-A", HOLD, "--port", String(target.port), "--ca", caFile, "--count", String(count)];
  return new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`,
      Deno.execPath(),
      ...args,
      "--prefix",
      prefix,
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

async function stopGenerator(process: Deno.ChildProcess): Promise<void> {
  try {
    process.kill("SIGKILL");
  } catch { /* gone */ }
  await process.status;
}

/** RSS growth per held Ping of one target. */
export async function measureHeld(
  mode: Mode,
  count: number,
): Promise<{ perPing: number; rss: number }> {
  const target = await startTarget(mode, count);
  const caFile = await Deno.makeTempFile({ suffix: ".pem" });
  await Deno.writeTextFile(caFile, target.caCert);
  let load: Deno.ChildProcess | undefined;
  try {
    // Warm-up: code paths compiled, TLS and hono initialized, before the baseline.
    const warm = generator(target, caFile, 20, "WARM");
    await until(async () => (await statsOf(target)).held >= 20, 60_000, "warm-up Pings");
    await stopGenerator(warm);
    await until(async () => (await statsOf(target)).held === 0, 30_000, "warm-up to end");
    const before = await statsOf(target);
    load = generator(target, caFile, count, "SIM");
    await until(async () => (await statsOf(target)).held >= count, 300_000, `${count} held Pings (${mode})`);
    await sleep(500);
    const after = await statsOf(target);
    return { perPing: (after.rss - before.rss) / count, rss: after.rss };
  } finally {
    if (load) await stopGenerator(load);
    await stopTarget(target);
    await Deno.remove(caFile).catch(() => {});
  }
}

async function memoryBench(ctx: BenchContext): Promise<{ rows: MemoryRow[]; note?: string }> {
  let counts = ctx.quick ? [200, 1000] : [1000, 5000, 10_000];
  const limit = await softFileLimit();
  let note: string | undefined;
  const fits = counts.filter((n) => n + 500 <= limit);
  if (fits.length < counts.length) {
    note = `the generator's open-file limit is ${limit}: raise it (ulimit -n 65536) to measure ${
      counts.join(", ")
    }`;
    counts = fits;
  }
  const rows: MemoryRow[] = [];
  for (const count of counts) {
    let bare, box, boxServe;
    try {
      bare = await measureHeld("bare", count);
      box = await measureHeld("box", count);
      boxServe = await measureHeld("box-serve", count);
    } catch (error) {
      const open = [...Deno.readDirSync("/proc/self/fd")].length;
      note = `${note ? note + "; " : ""}${count} held failed (${
        error instanceof Error ? error.message : error
      }; generator had ${open} open files, limit ${limit})`;
      continue;
    }
    rows.push({
      held: count,
      boxBytesPerPing: Math.round(box.perPing),
      bareBytesPerPing: Math.round(bare.perPing),
      boxOnDenoServeBytesPerPing: Math.round(boxServe.perPing),
      ratio: Number((box.perPing / bare.perPing).toFixed(2)),
      boxRssMb: Number((box.rss / 2 ** 20).toFixed(1)),
      bareRssMb: Number((bare.rss / 2 ** 20).toFixed(1)),
    });
  }
  printTable(
    "Memory: RSS growth per Ping held over TLS (box vs bare Deno.serve, same run)",
    [
      "held",
      "box B/Ping",
      "box on Deno.serve B/Ping",
      "bare B/Ping",
      "ratio (goal <= 1.25)",
      "box RSS MB",
      "bare RSS MB",
    ],
    rows.map((r) => [
      r.held,
      r.boxBytesPerPing,
      r.boxOnDenoServeBytesPerPing,
      r.bareBytesPerPing,
      r.ratio,
      r.boxRssMb,
      r.bareRssMb,
    ]),
  );
  if (note) console.log(`note: ${note}`);
  return note ? { rows, note } : { rows };
}

async function quietHourBench(ctx: BenchContext) {
  const devices = ctx.quick ? 200 : 1000;
  const seconds = ctx.quick ? 12 : 30;
  const heartbeat = 3;
  const target = await startTarget("box", devices, ["--heartbeat-min", "1"]);
  const body = pingBytes(heartbeat, ["1"]);
  let pings: HeldPing[] = [];
  try {
    pings = await holdPings({
      port: target.port,
      caCert: target.caCert,
      devices: devicesFor(devices),
      body: () => body,
    });
    // The first Ping of a device records the device (a write); the quiet hour starts after that.
    await Promise.all(pings.map((p) => p.response));
    const before = await statsOf(target);
    const ioBefore = await processWrites(target.pid);
    let cycles = 0;
    let errors = 0;
    const end = performance.now() + seconds * 1000;
    await Promise.all(pings.map(async (ping) => {
      while (performance.now() < end) {
        repeatPing(ping, { port: target.port, body: () => body });
        const answer = await ping.response;
        if (answer.httpStatus !== 200 || answer.pingStatus !== 1) errors++;
        cycles++;
      }
    }));
    const after = await statsOf(target);
    const ioAfter = await processWrites(target.pid);
    const result = {
      devices,
      heartbeatSeconds: heartbeat,
      pingCycles: cycles,
      nonExpiredAnswers: errors,
      equivalentQuietHours: Number((cycles / (devices * (3600 / 480))).toFixed(2)),
      sqliteRowsChanged: after.totalChanges - before.totalChanges,
      sqliteBytesGrown: after.dbBytes - before.dbBytes,
      processWriteBytes: ioAfter - ioBefore,
    };
    printTable(
      "Quiet hour: Pings expiring in a fast loop (heartbeat 3 s), store writes (goal 0)",
      [
        "devices",
        "Ping cycles",
        "= quiet hours at 480 s",
        "rows changed",
        "db bytes grown",
        "process write_bytes",
      ],
      [[
        devices,
        cycles,
        result.equivalentQuietHours,
        result.sqliteRowsChanged,
        result.sqliteBytesGrown,
        result.processWriteBytes,
      ]],
    );
    return result;
  } finally {
    closeAll(pings);
    await stopTarget(target);
  }
}

/** Bytes the process caused to be written to storage (/proc/PID/io write_bytes). */
async function processWrites(pid: number): Promise<number> {
  const text = await Deno.readTextFile(`/proc/${pid}/io`).catch(() => "");
  return Number(/write_bytes:\s*(\d+)/.exec(text)?.[1] ?? 0);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function imapConnections(port: number): Promise<number> {
  const out = await new Deno.Command("ss", {
    args: ["-Htn", "state", "established", `( dport = :${port} )`],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim()).length;
}

async function latencyBench(ctx: BenchContext) {
  // ~1,000 Pings over 90 users: each user's watcher idles on the user's pooled connection,
  // so the harness Dovecot (process_limit 1000) holds one imap process per user.
  const userCount = ctx.quick ? 20 : 90;
  const perUser = ctx.quick ? 10 : 11;
  const deliveries = ctx.quick ? 10 : 40;
  const users = Array.from({ length: userCount }, (_, i) => ({
    name: `user${i}`,
    password: `pw-${i}-secret`,
    email: `user${i}@example.test`,
  }));
  const mailstore = await startMailstore({ users, dav: false, postfix: false, sieve: false });
  const dataDir = await Deno.makeTempDir({ prefix: "push-bench-" });
  const server = await startPushbridge(
    resolveSettings({
      PUSHBRIDGE_DATA: dataDir,
      PUSHBRIDGE_LISTEN: "127.0.0.1:0",
      PUSHBRIDGE_SETUP_LISTEN: "127.0.0.1:0",
      PUSHBRIDGE_IMAP_URL: mailstore.imapUrl,
      PUSHBRIDGE_MAILSTORE_CA: mailstore.caFile,
    }),
    silentLogger,
  );
  const port = Number(new URL(server.easUrl).port);
  let pings: HeldPing[] = [];
  try {
    const inboxOf = new Map<string, string>();
    for (const user of users) {
      const client = new EasClient({
        url: server.easUrl,
        user: user.name,
        password: user.password,
        deviceId: `setup${user.name}`,
        deviceType: "Bench",
        protocolVersion: "14.1",
        caCerts: [server.caCertPem!],
      });
      const reply = await client.command(
        "FolderSync",
        el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
      );
      client.close();
      const inbox = childrenNamed(child(reply.body, "Changes"), "Add").find((a) =>
        childText(a, "Type") === "2"
      );
      inboxOf.set(user.name, childText(inbox, "ServerId")!);
    }
    const devices: SimDevice[] = users.flatMap((u) =>
      Array.from(
        { length: perUser },
        (_, i) => ({ user: u.name, password: u.password, deviceId: `${u.name}D${i}` }),
      )
    );
    const body = (d: SimDevice) => pingBytes(900, [inboxOf.get(d.user)!]);
    pings = await holdPings({ port, caCert: server.caCertPem!, devices, body });
    const hub = server.push.hub;
    await until(() => hub.stats().held === devices.length, 120_000, "held Pings");
    await until(() => hub.status().every((u) => u.keys > 0), 60_000, "watchers' first state");
    const connectionsHeld = await imapConnections(mailstore.imapPort);

    const wakes: number[] = [];
    let wrongStatus = 0;
    for (let n = 0; n < deliveries; n++) {
      const user = users[Math.floor(Math.random() * users.length)]!;
      const mine = pings.filter((p) => p.device.user === user.name);
      const started = performance.now();
      await mailstore.deliver(user.name, `Subject: bench ${n}\r\nFrom: a@example.test\r\n\r\nhello ${n}\r\n`);
      for (const ping of mine) {
        const answer = await ping.response;
        if (answer.pingStatus !== 2) wrongStatus++;
        wakes.push(answer.at - started);
      }
      for (const ping of mine) repeatPing(ping, { port, body });
      await until(() => hub.stats().held === devices.length, 30_000, "re-held Pings");
    }
    const connectionsAfter = await imapConnections(mailstore.imapPort);
    wakes.sort((a, b) => a - b);
    const result = {
      users: userCount,
      heldPings: devices.length,
      deliveries,
      wakes: wakes.length,
      notStatus2: wrongStatus,
      p50Ms: Math.round(percentile(wakes, 50)),
      p99Ms: Math.round(percentile(wakes, 99)),
      maxMs: Math.round(wakes[wakes.length - 1] ?? NaN),
      imapConnectionsWhileHeld: connectionsHeld,
      imapConnectionsAfter: connectionsAfter,
      imapConnectionsPerUser: Number((connectionsAfter / userCount).toFixed(2)),
      watcherConnectionsPerUser: Number((server.push.hub.stats().watchers / userCount).toFixed(2)),
    };
    printTable(
      "Latency: LMTP delivery -> Ping Status 2 (goal p99 < 2000 ms), IMAP connections",
      ["users", "held", "wakes", "p50 ms", "p99 ms", "max ms", "IMAP conns", "per user", "watchers/user"],
      [[
        userCount,
        devices.length,
        wakes.length,
        result.p50Ms,
        result.p99Ms,
        result.maxMs,
        connectionsAfter,
        result.imapConnectionsPerUser,
        result.watcherConnectionsPerUser,
      ]],
    );
    console.log(
      "note: IMAP connections = one per user: the pool's connection, on which the user's watcher waits in " +
        "NOTIFY+IDLE between requests; DAV watchers poll over HTTP and are not counted",
    );
    return result;
  } finally {
    closeAll(pings);
    await server.close();
    await mailstore.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

/** A small line plot of bytes per held Ping against the number held. */
function memorySvg(rows: MemoryRow[]): string {
  const w = 560, h = 320, left = 70, bottom = 40, top = 30, right = 120;
  const maxX = Math.max(...rows.map((r) => r.held), 1);
  const maxY = Math.max(
    ...rows.flatMap((r) => [r.boxBytesPerPing, r.bareBytesPerPing, r.boxOnDenoServeBytesPerPing]),
    1,
  ) * 1.15;
  const x = (v: number) => left + (v / maxX) * (w - left - right);
  const y = (v: number) => h - bottom - (v / maxY) * (h - top - bottom);
  const line = (
    key: "boxBytesPerPing" | "bareBytesPerPing" | "boxOnDenoServeBytesPerPing",
    color: string,
    label: string,
  ) => {
    const points = rows.map((r) => `${x(r.held).toFixed(1)},${y(r[key]).toFixed(1)}`).join(" ");
    const last = rows[rows.length - 1];
    const dots = rows.map((r) => `<circle cx="${x(r.held)}" cy="${y(r[key])}" r="3" fill="${color}"/>`).join(
      "",
    );
    const tag = last
      ? `<text x="${x(last.held) + 6}" y="${y(last[key]) + 4}" fill="${color}">${label}</text>`
      : "";
    return `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points}"/>${dots}${tag}`;
  };
  const ticks = rows.map((r) =>
    `<text x="${x(r.held)}" y="${h - bottom + 16}" text-anchor="middle">${r.held}</text>`
  ).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">
<text x="${left}" y="18">RSS bytes per held Ping over TLS</text>
<line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}" stroke="#333"/>
<line x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}" stroke="#333"/>
<text x="${left - 6}" y="${y(0)}" text-anchor="end">0</text>
<text x="${left - 6}" y="${y(maxY / 1.15) + 4}" text-anchor="end">${Math.round(maxY / 1.15)}</text>
${ticks}<text x="${(w - right + left) / 2}" y="${h - 6}" text-anchor="middle">Pings held</text>
${line("boxBytesPerPing", "#c0392b", "Pushbridge")}${
    line("boxOnDenoServeBytesPerPing", "#27ae60", "on Deno.serve")
  }${line("bareBytesPerPing", "#2c3e50", "bare Deno.serve")}
</svg>
`;
}

/** Runs the three push benchmarks and writes bench/results/push.json and push_memory.svg. */
export async function bench(ctx: BenchContext): Promise<void> {
  const memory = await memoryBench(ctx);
  const quietHour = await quietHourBench(ctx);
  const latency = await latencyBench(ctx);
  await writeResult(ctx, "push", { quick: ctx.quick, memory, latency, quietHour });
  await Deno.writeTextFile(`${ctx.resultsDir}/push_memory.svg`, memorySvg(memory.rows));
}
