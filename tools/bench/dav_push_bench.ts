/**
 * DAV Direct Push benchmark (issue 5: "DAV changes within one poll
 * interval"): prints numbers, never passes or fails.
 *
 * Phones (two users, two devices each) hold Pings on their Calendar and
 * Contacts folders of a real Radicale; an independent DAV client (the
 * desktop) adds an event or a card at a random moment of the poll cycle; the
 * time from the desktop's PUT to each of that user's Pings answering Status 2
 * is recorded, beside the poll interval. Two boxes as src/server.ts composes
 * them: the default interval (PUSH_LIMITS.davPollMs, a few samples) and
 * PUSHBRIDGE_DAV_POLL at its minimum (more samples).
 *
 * The box reaches Radicale through a counting proxy. The phones re-Ping
 * without a Sync in between (the hub marks what a Ping reported as seen), so
 * every DAV request in the measured window is a poller's: they are set beside
 * one PROPFIND per collection per interval, the cost when the probe is shared
 * by all devices and folders of a collection.
 */
import { resolveSettings } from "../../src/config/settings.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { startPushbridge } from "../../src/server.ts";
import { DavClient } from "../../src/bridge/dav/dav_client.ts";
import { PUSH_LIMITS } from "../../src/push/limits.ts";
import { child, childrenNamed, childText, el, textEl } from "../../src/wbxml/mod.ts";
import { startMailstore } from "../../tests/harness/mod.ts";
import { EasClient } from "../eas_client/client.ts";
import { syncRequest } from "../eas_client/requests.ts";
import { type BenchContext, printTable, writeResult } from "./context.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Account {
  name: string;
  password: string;
  dav: DavClient;
}

/** A phone: FolderSync, initial Syncs, then Pings in a loop; Syncs what a Ping reports. */
class Phone {
  readonly client: EasClient;
  folders = { calendar: "", contacts: "" };
  #keys = new Map<string, string>();
  #running = true;
  #waiting: ((at: number) => void)[] = [];
  #loop: Promise<void> | undefined;

  constructor(easUrl: string, ca: string, readonly account: Account, id: string) {
    this.client = new EasClient({
      url: easUrl,
      user: account.name,
      password: account.password,
      deviceId: id,
      deviceType: "iPhone",
      protocolVersion: "16.1",
      caCerts: [ca],
    });
  }

  async setUp(): Promise<void> {
    const folders = await this.client.command(
      "FolderSync",
      el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
    );
    const adds = childrenNamed(child(folders.body, "Changes", "FolderHierarchy"), "Add", "FolderHierarchy");
    const idOf = (type: string) =>
      childText(
        adds.find((a) => childText(a, "Type", "FolderHierarchy") === type),
        "ServerId",
        "FolderHierarchy",
      )!;
    this.folders = { calendar: idOf("8"), contacts: idOf("9") };
    for (const id of Object.values(this.folders)) {
      this.#keys.set(id, "0");
      await this.sync(id);
      await this.sync(id);
    }
  }

  async sync(id: string): Promise<void> {
    const reply = await this.client.command("Sync", syncRequest(id, this.#keys.get(id)!));
    const collection = child(child(reply.body, "Collections", "AirSync"), "Collection", "AirSync");
    const key = childText(collection, "SyncKey", "AirSync");
    if (key) this.#keys.set(id, key);
  }

  /** Pings until stopped; each Status 2 wakes the waiters (no Sync: see the module comment). */
  start(heartbeatSeconds: number): void {
    const body = el(
      "Ping",
      "Ping",
      textEl("Ping", "HeartbeatInterval", heartbeatSeconds),
      el(
        "Ping",
        "Folders",
        el(
          "Ping",
          "Folder",
          textEl("Ping", "Id", this.folders.calendar),
          textEl("Ping", "Class", "Calendar"),
        ),
        el(
          "Ping",
          "Folder",
          textEl("Ping", "Id", this.folders.contacts),
          textEl("Ping", "Class", "Contacts"),
        ),
      ),
    );
    this.#loop = (async () => {
      while (this.#running) {
        let reply;
        try {
          reply = await this.client.command("Ping", body);
        } catch {
          return; // closed at the end of the run
        }
        const at = performance.now();
        const status = childText(reply.body, "Status", "Ping");
        if (status === "2") {
          for (const resolve of this.#waiting.splice(0)) resolve(at);
        } else if (status !== "1") {
          // Reported by the run as missed wake-ups; the phone stops pinging.
          console.error(`${this.account.name}: Ping answered status ${status}`);
          return;
        }
      }
    })();
  }

  /** Resolves with the time of the next Status 2, or undefined after `timeoutMs`. */
  nextChange(timeoutMs: number): Promise<number | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.#waiting.push((at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }

  /** Ends the loop; a held Ping's connection is closed with the client (the box sees it go). */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.client.close();
    this.#loop?.catch(() => {});
  }
}

interface RunResult {
  intervalS: number;
  samples: number;
  /** Latencies in ms of every woken Ping (one per device of the changed user). */
  latencies: number[];
  missed: number;
  /** DAV requests during the measured window, by method (PROPFIND with its Depth). */
  requests: Record<string, number>;
  seconds: number;
}

/** A pass-through HTTP proxy in front of the DAV server that counts requests by method (and Depth). */
function countingProxy(target: string): { url: string; counts: Map<string, number>; close(): Promise<void> } {
  const counts = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    const depth = request.headers.get("depth");
    const kind = depth === null ? request.method : `${request.method} depth ${depth}`;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    const headers = new Headers(request.headers);
    headers.delete("host");
    const answer = await fetch(new URL(url.pathname + url.search, target), {
      method: request.method,
      headers,
      ...(request.body ? { body: await request.arrayBuffer() } : {}),
      redirect: "manual",
    });
    // fetch() has decoded the body already: its length and coding no longer apply.
    const out = new Headers(answer.headers);
    out.delete("content-encoding");
    out.delete("content-length");
    return new Response(answer.body, { status: answer.status, headers: out });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    counts,
    close: () => server.shutdown(),
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const EVENT = (uid: string) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:20300301T090000Z\r\nDTEND:20300301T100000Z\r\nSUMMARY:Bench ${uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;
const CARD = (uid: string) =>
  `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:Bench ${uid}\r\nN:${uid};Bench;;;\r\nEND:VCARD\r\n`;

/**
 * `samples` changes, each at a random moment of the poll cycle, alternating
 * users and calendar/contacts; waits for every Ping of the changed user.
 */
async function measure(
  phones: Phone[],
  accounts: Account[],
  samples: number,
  intervalMs: number,
  waitMs: number,
): Promise<{ latencies: number[]; missed: number }> {
  const latencies: number[] = [];
  let missed = 0;
  for (let i = 0; i < samples; i++) {
    await sleep(500 + Math.random() * intervalMs);
    const account = accounts[i % accounts.length]!;
    const mine = phones.filter((p) => p.account === account);
    const woken = mine.map((p) => p.nextChange(waitMs));
    const uid = `b${Date.now()}-${i}`;
    const href = i % 2 === 0
      ? `/${account.name}/calendar/${uid}.ics`
      : `/${account.name}/contacts/${uid}.vcf`;
    await (i % 2 === 0
      ? account.dav.put(href, EVENT(uid), "text/calendar", "")
      : account.dav.put(href, CARD(uid), "text/vcard", ""));
    const changedAt = performance.now();
    for (const at of await Promise.all(woken)) {
      if (at === undefined) missed++;
      else latencies.push(Math.max(0, at - changedAt));
    }
  }
  return { latencies, missed };
}

/** Runs the DAV push benchmark (see the module comment). */
export async function bench(ctx: BenchContext): Promise<void> {
  const mailstore = await startMailstore({ dav: true, postfix: false, sieve: false });
  const proxy = countingProxy(mailstore.davUrl!);
  const results: RunResult[] = [];
  const phones: Phone[] = [];
  try {
    const accounts: Account[] = mailstore.users.slice(0, 2).map((u) => ({
      name: u.name,
      password: u.password,
      dav: new DavClient({
        url: new URL(mailstore.davUrl!),
        credentials: { user: u.name, password: u.password },
      }),
    }));
    for (const a of accounts) {
      await a.dav.mutate(
        "MKCALENDAR",
        `/${a.name}/calendar/`,
        '<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>Calendar</d:displayname><c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>',
      );
      await a.dav.mutate(
        "MKCOL",
        `/${a.name}/contacts/`,
        '<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><c:addressbook/></d:resourcetype><d:displayname>Contacts</d:displayname></d:prop></d:set></d:mkcol>',
      );
    }
    const runs = [
      { pollSeconds: PUSH_LIMITS.davPollMs / 1000, samples: ctx.quick ? 1 : 3 },
      // PUSHBRIDGE_DAV_POLL's minimum.
      { pollSeconds: 5, samples: ctx.quick ? 4 : 15 },
    ];
    for (const run of runs) {
      const dataDir = await Deno.makeTempDir({ prefix: "pushbridge-bench-dav-" });
      const server = await startPushbridge(
        resolveSettings({
          PUSHBRIDGE_DATA: dataDir,
          PUSHBRIDGE_LISTEN: "127.0.0.1:0",
          PUSHBRIDGE_SETUP_LISTEN: "127.0.0.1:0",
          PUSHBRIDGE_IMAP_URL: mailstore.imapsUrl,
          PUSHBRIDGE_MAILSTORE_CA: mailstore.caFile,
          PUSHBRIDGE_DAV_URL: proxy.url,
          ...(run.pollSeconds * 1000 === PUSH_LIMITS.davPollMs
            ? {}
            : { PUSHBRIDGE_DAV_POLL: String(run.pollSeconds) }),
        }),
        silentLogger,
      );
      try {
        phones.splice(0);
        for (const [n, a] of accounts.entries()) {
          for (const d of [1, 2]) {
            phones.push(
              new Phone(server.easUrl, server.caCertPem!, a, `davbench${run.pollSeconds}u${n}d${d}`),
            );
          }
        }
        for (const p of phones) await p.setUp();
        const intervalMs = run.pollSeconds * 1000;
        for (const p of phones) p.start(Math.max(60, 3 * run.pollSeconds));
        // The watchers take their baseline tokens; then the window starts.
        await sleep(2000);
        proxy.counts.clear();
        const started = performance.now();
        const { latencies, missed } = await measure(
          phones,
          accounts,
          run.samples,
          intervalMs,
          intervalMs + 15_000,
        );
        const seconds = (performance.now() - started) / 1000;
        results.push({
          intervalS: run.pollSeconds,
          samples: run.samples,
          latencies,
          missed,
          requests: Object.fromEntries(proxy.counts),
          seconds,
        });
      } finally {
        for (const p of phones) p.stop();
        await server.close();
        await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      }
    }

    const collections = accounts.length * 2;
    printTable(
      `DAV change -> Ping Status 2 (box as composed; ${accounts.length} users x 2 devices pinging Calendar + Contacts; Radicale)`,
      [
        "poll interval s",
        "changes",
        "Pings woken",
        "missed",
        "p50 ms",
        "p99 ms",
        "max ms",
        "PROPFIND depth 0",
        "other DAV",
        "1/collection/interval",
        "window s",
      ],
      results.map((r) => {
        const sorted = [...r.latencies].sort((a, b) => a - b);
        const propfinds = r.requests["PROPFIND depth 0"] ?? 0;
        const total = Object.values(r.requests).reduce((x, y) => x + y, 0);
        return [
          r.intervalS,
          r.samples,
          r.latencies.length,
          r.missed,
          Math.round(percentile(sorted, 50)),
          Math.round(percentile(sorted, 99)),
          Math.round(sorted.at(-1) ?? NaN),
          propfinds,
          total - propfinds,
          Math.round((r.seconds / r.intervalS) * collections),
          r.seconds.toFixed(0),
        ];
      }),
    );
    await writeResult(ctx, "dav_push", {
      date: new Date().toISOString(),
      users: accounts.length,
      devicesPerUser: 2,
      collections,
      runs: results,
    });
  } finally {
    for (const p of phones) p.stop();
    await proxy.close();
    await mailstore.stop();
  }
}
