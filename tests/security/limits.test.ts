/**
 * Limits enforced before buffering, against the EAS app behind the box's own
 * HTTP/1.1 listener (src/http/http1_server.ts, as src/server.ts runs it) with
 * raw sockets: slow heads and slow bodies (slowloris) cut off with 408,
 * oversized bodies refused with 413 before they are read, header size and
 * count refused with 431 by the transport whatever their size (Deno.serve
 * answered 400 beyond its own limits and never cut a slow head), requests in
 * flight per device and password checks per address capped with 503 +
 * Retry-After.
 */
import assert from "node:assert/strict";
import { CompositeBackend } from "../../src/backend/composite.ts";
import { Authenticator } from "../../src/http/auth.ts";
import { createEasApp } from "../../src/http/eas_app.ts";
import { serveHttp1 } from "../../src/http/http1_server.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { Store } from "../../src/store/mod.ts";

const GRACE_MS = 1000;
/** The head timeout of the listener under test (LIMITS.headerTimeoutMs is 20 s). */
const HEAD_TIMEOUT_MS = 1000;
const MIN_RATE = 16 * 1024;
const enc = new TextEncoder();

interface App {
  port: number;
  /** Resolves every password check that is waiting (the per-address test holds them). */
  releaseChecks(): void;
  stop(): Promise<void>;
}

async function startApp(options: { holdChecks?: boolean } = {}): Promise<App> {
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-limits-" });
  const store = Store.open(`${dir}/pushbridge.sqlite`);
  let waiting: (() => void)[] = [];
  const auth = new Authenticator(async (c) => {
    if (options.holdChecks) await new Promise<void>((resolve) => waiting.push(resolve));
    return c.password === "secret" ? "ok" : "denied";
  }, { minDenyMs: 0, maxChecksPerIp: 2 });
  const app = createEasApp({
    store,
    auth,
    backendFor: () => new CompositeBackend([]),
    log: silentLogger,
    maxRequestBytes: 64 * 1024,
    bodyTimeouts: { graceMs: GRACE_MS, minBytesPerSecond: MIN_RATE },
    maxRequestsPerDevice: 2,
    headersCheckedByTransport: true,
  });
  const server = serveHttp1(
    { hostname: "127.0.0.1", port: 0, limits: { headerTimeoutMs: HEAD_TIMEOUT_MS } },
    (request, info) => app.fetch(request, info),
  );
  return {
    port: server.addr.port,
    releaseChecks() {
      for (const resolve of waiting) resolve();
      waiting = [];
    },
    async stop() {
      await server.shutdown();
      store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function head(
  device: string,
  extra: string[] = [],
  user = "alice",
): string {
  return [
    `POST /Microsoft-Server-ActiveSync?Cmd=FolderSync&User=${user}&DeviceId=${device}&DeviceType=iPhone HTTP/1.1`,
    "Host: box",
    `Authorization: Basic ${btoa(`${user}:secret`)}`,
    "MS-ASProtocolVersion: 14.1",
    "Content-Type: application/vnd.ms-sync.wbxml",
    ...extra,
    "",
    "",
  ].join("\r\n");
}

/** A raw connection: what the server answered (status line) and when, or that it is still waiting. */
class Raw {
  readonly conn: Deno.Conn;
  readonly answer: Promise<{ status: number; ms: number; text: string }>;
  readonly #started = performance.now();

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.answer = (async () => {
      let text = "";
      const buffer = new Uint8Array(8192);
      while (!/\r\n\r\n/.test(text)) {
        const n = await conn.read(buffer).catch(() => null);
        if (n === null) break;
        text += new TextDecoder().decode(buffer.subarray(0, n));
      }
      return {
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
        ms: performance.now() - this.#started,
        text,
      };
    })();
  }

  static async open(port: number, head: string): Promise<Raw> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(enc.encode(head));
    return new Raw(conn);
  }

  /** Sends one byte every `everyMs` until the server answers or `max` bytes went out. */
  async trickle(everyMs: number, max: number, chunked = false): Promise<number> {
    let answered = false;
    this.answer.then(() => answered = true);
    let sent = 0;
    while (!answered && sent < max) {
      await new Promise((r) => setTimeout(r, everyMs));
      const ok = await this.conn.write(enc.encode(chunked ? "1\r\nX\r\n" : "X")).then(
        () => true,
        () => false,
      );
      if (!ok) break;
      sent++;
    }
    return sent;
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed by the server
    }
  }
}

Deno.test("a body sent one byte at a time is cut off with 408 soon after the grace period, declared or chunked", async () => {
  const app = await startApp();
  try {
    for (const chunked of [false, true]) {
      const raw = await Raw.open(
        app.port,
        head(`slow${chunked ? "c" : "d"}`, [chunked ? "Transfer-Encoding: chunked" : "Content-Length: 1000"]),
      );
      const sent = await raw.trickle(200, 100, chunked);
      const answer = await raw.answer;
      raw.close();
      assert.equal(answer.status, 408, answer.text);
      // Grace plus 1000 (or 16 K) bytes at the minimum rate: about 2 s, never the 20 s the trickle takes.
      assert.ok(answer.ms < GRACE_MS + 17 * 1024 / MIN_RATE * 1000 + 1000, `${answer.ms} ms`);
      assert.ok(sent < 100, `${sent} bytes were accepted before the cut`);
    }
  } finally {
    await app.stop();
  }
});

Deno.test("a body larger than the limit is refused with 413 from its Content-Length, or while streaming", async () => {
  const app = await startApp();
  try {
    const declared = await Raw.open(app.port, head("big1", ["Content-Length: 100000000"]));
    assert.equal((await declared.answer).status, 413);
    declared.close();

    const streamed = await Raw.open(app.port, head("big2", ["Transfer-Encoding: chunked"]));
    const chunk = "x".repeat(16 * 1024);
    for (let i = 0; i < 8; i++) {
      const ok = await streamed.conn.write(enc.encode(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)).then(
        () => true,
        () => false,
      );
      if (!ok) break;
    }
    assert.equal((await streamed.answer).status, 413);
    streamed.close();
  } finally {
    await app.stop();
  }
});

Deno.test("too many or too large request headers are refused with 431 by the listener, whatever their size", async () => {
  const app = await startApp();
  try {
    // Deno.serve answered the last two with a bare 400 from its own limits; the listener applies ours.
    const cases: string[][] = [
      Array.from({ length: 70 }, (_, i) => `X-Filler-${i}: v`),
      [`X-Big: ${"a".repeat(20 * 1024)}`],
      Array.from({ length: 300 }, (_, i) => `X-Filler-${i}: v`),
      [`X-Big: ${"a".repeat(200 * 1024)}`],
    ];
    for (const extra of cases) {
      const raw = await Raw.open(app.port, head("hdrs", [...extra, "Content-Length: 0"]));
      const answer = await raw.answer;
      assert.equal(answer.status, 431, `${extra.length} headers, ${extra.join("").length} bytes`);
      assert.match(answer.text, /connection: close/i);
      raw.close();
    }
  } finally {
    await app.stop();
  }
});

Deno.test("request headers sent one byte at a time are cut with 408 at the head timeout (Deno.serve held them forever)", async () => {
  const app = await startApp();
  try {
    const full = head("slowhead", ["Content-Length: 0"]);
    // The request line goes out at once, then the fields trickle.
    const firstLine = full.indexOf("\r\n") + 2;
    const raw = await Raw.open(app.port, full.slice(0, firstLine));
    let sent = 0;
    let answered = false;
    raw.answer.then(() => answered = true);
    for (const char of full.slice(firstLine)) {
      if (answered) break;
      await new Promise((r) => setTimeout(r, 100));
      const ok = await raw.conn.write(enc.encode(char)).then(() => true, () => false);
      if (!ok) break;
      sent++;
    }
    const answer = await raw.answer;
    raw.close();
    assert.equal(answer.status, 408, answer.text);
    assert.ok(answer.ms < HEAD_TIMEOUT_MS + 1000, `${answer.ms} ms`);
    assert.ok(sent < full.length - firstLine, `${sent} bytes were accepted before the cut`);
  } finally {
    await app.stop();
  }
});

Deno.test("a device above its requests in flight gets 503 with Retry-After; other devices are not affected", async () => {
  const app = await startApp();
  const open: Raw[] = [];
  try {
    // Two uploads of one device in progress hold both of its slots.
    for (let i = 0; i < 2; i++) {
      const raw = await Raw.open(app.port, head("busy", ["Content-Length: 100"]));
      await raw.conn.write(enc.encode("X"));
      open.push(raw);
    }
    await new Promise((r) => setTimeout(r, 100));
    const third = await Raw.open(app.port, head("busy", ["Content-Length: 0"]));
    open.push(third);
    const answer = await third.answer;
    assert.equal(answer.status, 503, answer.text);
    assert.match(answer.text, /retry-after: \d+/i);
    const other = await Raw.open(app.port, head("calm", ["Content-Length: 0"]));
    open.push(other);
    assert.notEqual((await other.answer).status, 503);
  } finally {
    for (const raw of open) raw.close();
    await app.stop();
  }
});

Deno.test("an address with too many password checks waiting gets 503 with Retry-After instead of another mailstore login", async () => {
  const app = await startApp({ holdChecks: true });
  const open: Raw[] = [];
  try {
    for (const user of ["u1", "u2"]) {
      open.push(await Raw.open(app.port, head("d", ["Content-Length: 0"], user)));
    }
    await new Promise((r) => setTimeout(r, 100));
    const third = await Raw.open(app.port, head("d", ["Content-Length: 0"], "u3"));
    open.push(third);
    const answer = await third.answer;
    assert.equal(answer.status, 503, answer.text);
    assert.match(answer.text, /retry-after: \d+/i);
    app.releaseChecks();
    for (const raw of open.slice(0, 2)) assert.notEqual((await raw.answer).status, 503);
  } finally {
    app.releaseChecks();
    for (const raw of open) raw.close();
    await app.stop();
  }
});
