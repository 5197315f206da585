/**
 * Scenario "load": the box as its own process against real Dovecot, with
 * `pings` devices holding Pings and `syncers` devices syncing in a loop while
 * mail arrives, for `durationSeconds`. Every delivery must wake its user's
 * Pings; a Ping or Sync answered with anything but 200 is an error. The
 * 10,000 Pings + 100 syncing devices for 30 minutes of the issue is
 * `--pings 10000 --syncers 100 --duration 1800`.
 *
 * At the end every syncing phone is compared with its user's INBOX read from
 * Dovecot (lost: delivered but missing on the phone or in the mailbox;
 * duplicated: an Add for an item the phone had, a subject twice), and the box's
 * RSS, sampled through the run, is reported after warm-up and at the end so a
 * leak shows as growth.
 *
 * @module
 */
import { childText, el, textEl } from "../../src/wbxml/mod.ts";
import { EasClient } from "../eas_client/client.ts";
import {
  closeAll,
  type HeldPing,
  holdPings,
  pingBytes,
  reconnectPing,
  repeatPing,
  type SimDevice,
} from "../load/ping_load.ts";
import { seededRandom } from "../fault_proxy.ts";
import { startMailstore } from "../../tests/harness/mod.ts";
import { BoxProcess } from "./box_process.ts";
import { imapTruth, Phone } from "./phone.ts";
import type { ScenarioResult } from "./result.ts";

/** Options of one run. */
export interface LoadOptions {
  pings: number;
  syncers: number;
  durationSeconds: number;
  seed?: number;
}

function percentile(values: number[], p: number): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** Runs the scenario; returns its table row. */
export async function runLoad(options: LoadOptions): Promise<ScenarioResult> {
  const random = seededRandom(options.seed ?? 9);
  // One user per 100 Ping devices (a watcher connection each), at least one per syncer.
  const userCount = Math.max(1, Math.ceil(options.pings / 100), options.syncers);
  const users = Array.from({ length: userCount }, (_, i) => ({
    name: `load${i}`,
    password: `load${i}-secret`,
    email: `load${i}@example.test`,
  }));
  const mailstore = await startMailstore({ users });
  const dataDir = await Deno.makeTempDir({ prefix: "pushbridge-load-" });
  const box = new BoxProcess(dataDir, mailstore);
  let pings: HeldPing[] = [];
  const clients: EasClient[] = [];
  try {
    await box.start();
    const url = `https://127.0.0.1:${box.port}`;
    const clientOf = (user: (typeof users)[number], deviceId: string) => {
      const client = new EasClient({
        url,
        user: user.name,
        password: user.password,
        deviceId,
        deviceType: "iPhone",
        protocolVersion: "14.1",
        caCerts: [box.caPem],
        timeoutMs: 60_000,
      });
      clients.push(client);
      return client;
    };
    // Every user's folders get their ids once; INBOX has the same id for all (same mailbox list).
    let inbox = "";
    for (const user of users) {
      const reply = await clientOf(user, "setup").command(
        "FolderSync",
        el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
      );
      const adds = reply.body?.children?.find((c) => c.name === "Changes")?.children ?? [];
      const found = adds.find((a) => childText(a, "DisplayName")?.toUpperCase() === "INBOX");
      inbox ||= childText(found, "ServerId") ?? "";
    }
    const devices: SimDevice[] = Array.from({ length: options.pings }, (_, i) => {
      const user = users[i % users.length]!;
      return { user: user.name, password: user.password, deviceId: `ping${i}` };
    });
    const body = pingBytes(Math.min(3540, options.durationSeconds + 120), [inbox]);
    const heldStarted = performance.now();
    pings = await holdPings({
      port: box.port,
      caCert: box.caPem,
      devices,
      body: () => body,
      concurrency: 32,
    });
    const holdMs = performance.now() - heldStarted;

    let pingAnswers = 0;
    let pingErrors = 0;
    const errorKinds = new Map<string, number>();
    const wakeLatency: number[] = [];
    let running = true;
    // Each answered Ping is sent again on its connection, as phones do; on a new one when the
    // server closed it or it broke.
    const watchPing = async (ping: HeldPing): Promise<void> => {
      while (running) {
        const answer = await ping.response.catch((error: unknown) =>
          error instanceof Error ? error : new Error(String(error))
        );
        if (!running) return;
        const broken = answer instanceof Error;
        if (broken || answer.httpStatus !== 200) {
          pingErrors++;
          count(
            errorKinds,
            broken ? `Ping no answer: ${answer.message.slice(0, 60)}` : `Ping HTTP ${answer.httpStatus}`,
          );
          await new Promise((r) => setTimeout(r, 1000));
        } else {
          pingAnswers++;
          wakeLatency.push(answer.at - ping.sentAt);
        }
        if (broken || answer.closes) {
          await reconnectPing(ping, { port: box.port, caCert: box.caPem, body: () => body }).catch(() => {});
        } else {
          repeatPing(ping, { port: box.port, body: () => body });
        }
      }
    };
    const watchers = pings.map(watchPing);

    let syncRequests = 0;
    let syncErrors = 0;
    const syncLatency: number[] = [];
    const phones: { user: string; phone: Phone }[] = [];
    const syncers = Array.from({ length: options.syncers }, async (_, i) => {
      const user = users[i % users.length]!;
      const phone = new Phone(clientOf(user, `sync${i}`), inbox);
      phones.push({ user: user.name, phone });
      phone.attempts = 5;
      while (running) {
        const started = performance.now();
        try {
          await phone.sync();
          syncRequests++;
          syncLatency.push(performance.now() - started);
        } catch (error) {
          syncErrors++;
          count(errorKinds, `Sync gave up: ${String(error).slice(0, 60)}`);
        }
        await new Promise((r) => setTimeout(r, 500 + random() * 1000));
      }
      syncErrors += phone.errors;
      for (const [kind, n] of phone.errorKinds) count(errorKinds, `Sync attempt: ${kind}`, n);
    });
    const rssSamples: { atSeconds: number; mb: number }[] = [];
    const runStarted = performance.now();
    const sampleRss = async () => {
      const mb = await boxRssMb(box.pid);
      if (mb !== undefined) rssSamples.push({ atSeconds: (performance.now() - runStarted) / 1000, mb });
    };
    await sampleRss();
    const sampler = setInterval(sampleRss, RSS_SAMPLE_MS);
    const deliveredTo = new Map<string, Set<string>>();
    let delivered = 0;
    const deadline = Date.now() + options.durationSeconds * 1000;
    while (Date.now() < deadline) {
      const user = users[Math.floor(random() * users.length)]!;
      const subject = `load-${delivered++}`;
      await mailstore.deliver(user.name, `From: x@example.test\r\nSubject: ${subject}\r\n\r\nbody\r\n`);
      if (!deliveredTo.has(user.name)) deliveredTo.set(user.name, new Set());
      deliveredTo.get(user.name)!.add(subject);
      await new Promise((r) => setTimeout(r, 250));
    }
    clearInterval(sampler);
    await sampleRss();
    running = false;
    closeAll(pings);
    await Promise.allSettled([...syncers, ...watchers]);

    // Settle: each syncing phone syncs until it has its INBOX, then is compared with Dovecot's.
    let lost = 0;
    let duplicated = 0;
    // Each user's INBOX is read once, for the phone comparison and the delivery check alike.
    const truths = new Map<string, ReturnType<typeof imapTruth>>();
    const truthOf = (user: string) => {
      if (!truths.has(user)) truths.set(user, imapTruth(mailstore, user));
      return truths.get(user)!;
    };
    for (const { user, phone } of phones) {
      phone.attempts = 20;
      await phone.sync().catch((error) => {
        syncErrors++;
        count(errorKinds, `final Sync: ${String(error).slice(0, 60)}`);
      });
      const truth = await truthOf(user);
      duplicated += phone.duplicatedAdds + truth.duplicates;
      const onPhone = new Set<string>();
      for (const item of phone.model.values()) {
        if (onPhone.has(item.subject)) duplicated++;
        onPhone.add(item.subject);
      }
      const missing = [...truth.items.keys()].filter((subject) => !onPhone.has(subject)).length;
      if (missing) count(errorKinds, "phones missing items");
      lost += missing;
      for (const subject of onPhone) if (!truth.items.has(subject)) duplicated++; // a ghost
    }
    // Server side: every delivery is in its user's mailbox (nothing in this scenario deletes).
    for (const [user, subjects] of deliveredTo) {
      const truth = await truthOf(user);
      for (const subject of subjects) if (!truth.items.has(subject)) lost++;
    }
    const rss = rssReport(rssSamples, options.durationSeconds);
    return {
      scenario:
        `load: ${options.pings} held Pings + ${options.syncers} syncing devices, ${options.durationSeconds} s`,
      cycles: syncRequests,
      lost,
      duplicated,
      errors: pingErrors + syncErrors,
      recoveryMs: Math.round(percentile(syncLatency, 0.95)),
      notes: `${pings.length} Pings held in ${(holdMs / 1000).toFixed(1)} s; ${pingAnswers} Ping answers ` +
        `(held until woken: p50 ${
          Math.round(percentile(wakeLatency, 0.5))
        } ms); ${delivered} deliveries to ${userCount} users; ` +
        `Sync p50 ${Math.round(percentile(syncLatency, 0.5))} ms, p95 ${
          Math.round(percentile(syncLatency, 0.95))
        } ms` +
        `; ${rss}; errors by kind ${
          JSON.stringify(Object.fromEntries(errorKinds))
        } (recovery column: Sync p95)`,
    };
  } finally {
    closeAll(pings);
    for (const client of clients) client.close();
    await box.stop();
    await mailstore.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

/** How often the box's RSS is sampled during the run. */
const RSS_SAMPLE_MS = 15_000;

async function boxRssMb(pid: number): Promise<number | undefined> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) / 1024;
}

/**
 * RSS after warm-up (the first tenth of the run, at most 3 minutes: Pings
 * held, watchers and pools open), the peak after it and the end value, so
 * a leak shows as growth between the first and the last.
 */
function rssReport(samples: { atSeconds: number; mb: number }[], durationSeconds: number): string {
  if (!samples.length) return "box RSS not sampled";
  const warmUpSeconds = Math.min(180, durationSeconds / 10);
  const after = samples.filter((s) => s.atSeconds >= warmUpSeconds);
  const steady = after.length ? after : samples;
  const first = steady[0]!.mb;
  const last = steady[steady.length - 1]!.mb;
  const peak = Math.max(...steady.map((s) => s.mb));
  return `box RSS after ${Math.round(warmUpSeconds)} s warm-up ${first.toFixed(0)} MB, peak ${
    peak.toFixed(0)
  } MB, end ${last.toFixed(0)} MB (${last - first >= 0 ? "+" : ""}${(last - first).toFixed(0)} MB over ${
    Math.round(steady[steady.length - 1]!.atSeconds - steady[0]!.atSeconds)
  } s, ${samples.length} samples)`;
}

function count(kinds: Map<string, number>, kind: string, n = 1): void {
  kinds.set(kind, (kinds.get(kind) ?? 0) + n);
}
