/**
 * The box's HTTP/1.1 transport (src/http/http1_server.ts) over real TLS
 * sockets with a generated certificate: keep-alive, pipelining, chunked
 * bodies, 100-continue, HEAD, the timeouts Deno.serve lacks (handshake,
 * trickled head, idle), head limits, the request signal on disconnect,
 * streamed responses with backpressure, the per-address cap and shutdown.
 */
import assert from "node:assert/strict";
import {
  type Http1Handler,
  type Http1Server,
  serveHttp1,
  type TransportLimits,
} from "../../src/http/http1_server.ts";
import { generateSelfSigned } from "../../src/tls/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const cert = await generateSelfSigned({
  commonName: "localhost",
  dnsNames: ["localhost"],
  ipAddresses: ["127.0.0.1"],
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function start(
  handler: Http1Handler,
  limits: Partial<TransportLimits> = {},
  exemptLoopback = true,
): Http1Server {
  return serveHttp1(
    { hostname: "127.0.0.1", port: 0, cert: cert.certPem, key: cert.keyPem, limits, exemptLoopback },
    handler,
  );
}

/** Echoes method, path, a header and the body it read. */
const echo: Http1Handler = async (request) => {
  const body = request.body ? new Uint8Array(await request.arrayBuffer()) : new Uint8Array(0);
  return new Response(`${request.method} ${new URL(request.url).pathname} ${dec.decode(body)}`, {
    headers: { "X-Seen": request.headers.get("X-Test") ?? "" },
  });
};

interface Answer {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** A raw TLS client that writes bytes and parses responses (Content-Length, chunked or to the end). */
class Client {
  #buf = new Uint8Array(0);
  #eof = false;
  private constructor(readonly conn: Deno.TlsConn) {}

  static async open(server: Http1Server): Promise<Client> {
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: server.addr.port,
      caCerts: [cert.caCertPem],
    });
    return new Client(conn);
  }

  async send(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === "string" ? enc.encode(text) : text;
    let offset = 0;
    while (offset < bytes.length) offset += await this.conn.write(bytes.subarray(offset));
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.conn.read(chunk).catch(() => null);
    if (n === null) {
      this.#eof = true;
      return false;
    }
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
    return true;
  }

  async #line(): Promise<string> {
    while (true) {
      const at = this.#buf.indexOf(10);
      if (at >= 0) {
        const line = dec.decode(this.#buf.subarray(0, at)).replace(/\r$/, "");
        this.#buf = this.#buf.subarray(at + 1);
        return line;
      }
      if (!(await this.#fill())) throw new Error("Connection closed mid-line");
    }
  }

  async #bytes(n: number): Promise<Uint8Array> {
    while (this.#buf.length < n) {
      if (!(await this.#fill())) throw new Error("Connection closed mid-body");
    }
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /** The next response; `head` for a HEAD request (no body follows). */
  async read(options: { head?: boolean } = {}): Promise<Answer> {
    const statusLine = await this.#line();
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
    const headers = new Headers();
    for (let line = await this.#line(); line !== ""; line = await this.#line()) {
      const colon = line.indexOf(":");
      headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    if (options.head || status === 204 || status === 304 || status < 200) {
      return { status, headers, body: new Uint8Array(0) };
    }
    if (headers.get("transfer-encoding") === "chunked") {
      const parts: Uint8Array[] = [];
      while (true) {
        const size = parseInt(await this.#line(), 16);
        if (size === 0) break;
        parts.push(await this.#bytes(size));
        await this.#line();
      }
      await this.#line();
      return { status, headers, body: join(parts) };
    }
    const length = headers.get("content-length");
    if (length !== null) return { status, headers, body: await this.#bytes(Number(length)) };
    while (await this.#fill()) { /* to the end */ }
    const body = this.#buf;
    this.#buf = new Uint8Array(0);
    return { status, headers, body };
  }

  /** Resolves true once the server closed the connection (within `ms`), false if it stays open. */
  async closedWithin(ms: number): Promise<boolean> {
    const timer = sleep(ms).then(() => "open" as const);
    while (true) {
      const result = await Promise.race([this.#fill(), timer]);
      if (result === "open") return false;
      if (result === false) return true;
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed already */ }
  }
}

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: box\r\n${extra}\r\n`;
const post = (path: string, body: string, extra = "") =>
  `POST ${path} HTTP/1.1\r\nHost: box\r\nContent-Length: ${enc.encode(body).length}\r\n${extra}\r\n${body}`;

Deno.test("keep-alive: several requests share one TLS connection, each answered with Content-Length", async () => {
  const server = start(echo);
  const client = await Client.open(server);
  try {
    for (let i = 0; i < 3; i++) {
      await client.send(post(`/r${i}`, `body ${i}`, "X-Test: kept\r\n"));
      const answer = await client.read();
      assert.equal(answer.status, 200);
      assert.equal(dec.decode(answer.body), `POST /r${i} body ${i}`);
      assert.equal(answer.headers.get("content-length"), String(answer.body.length));
      assert.equal(answer.headers.get("x-seen"), "kept");
      assert.ok(answer.headers.get("date"));
    }
    assert.equal(server.connections(), 1);
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("pipelined requests sent in one write are answered in order", async () => {
  let running = 0;
  let most = 0;
  const server = start(async (request) => {
    running++;
    most = Math.max(most, running);
    // The first request is the slowest: answers must still come in request order.
    const path = new URL(request.url).pathname;
    await sleep(path === "/a" ? 100 : 5);
    running--;
    return new Response(`${path} ${await request.text()}`);
  });
  const client = await Client.open(server);
  try {
    await client.send(post("/a", "one") + get("/b") + post("/c", "three"));
    assert.equal(dec.decode((await client.read()).body), "/a one");
    assert.equal(dec.decode((await client.read()).body), "/b ");
    assert.equal(dec.decode((await client.read()).body), "/c three");
    assert.equal(most, 1, "requests of one connection are served one after another");
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("chunked request bodies are decoded (extensions and trailers ignored); framing errors answer 400 or 501", async () => {
  const server = start(echo);
  try {
    const client = await Client.open(server);
    await client.send(
      "POST /chunked HTTP/1.1\r\nHost: box\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n",
    );
    assert.equal(dec.decode((await client.read()).body), "POST /chunked hello world");
    // The connection carries on after a chunked body.
    await client.send(get("/after"));
    assert.equal(dec.decode((await client.read()).body), "GET /after ");
    client.close();

    const cases: [string, number][] = [
      ["Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", 400],
      ["Content-Length: 5\r\nContent-Length: 6\r\n", 400],
      ["Content-Length: -1\r\n", 400],
      ["Content-Length: 1e3\r\n", 400],
      ["Transfer-Encoding: gzip, chunked\r\n", 501],
      ["Transfer-Encoding: chunked, gzip\r\n", 400],
      ["Expect: something-else\r\n", 417],
    ];
    for (const [fields, status] of cases) {
      const bad = await Client.open(server);
      await bad.send(`POST /bad HTTP/1.1\r\nHost: box\r\n${fields}\r\nhello`);
      const answer = await bad.read();
      assert.equal(answer.status, status, fields);
      assert.equal(answer.headers.get("connection"), "close");
      assert.ok(await bad.closedWithin(2000), `${fields} closes the connection`);
      bad.close();
    }

    // A malformed chunk size reaches the handler as a failed body read; the connection ends.
    const broken = await Client.open(server);
    let failed = "";
    const strict = start(async (request) => {
      try {
        await request.arrayBuffer();
      } catch (error) {
        failed = error instanceof Error ? error.message : String(error);
        return new Response("bad body", { status: 400 });
      }
      return new Response("read");
    });
    const strictClient = await Client.open(strict);
    await strictClient.send(
      "POST / HTTP/1.1\r\nHost: box\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n",
    );
    assert.equal((await strictClient.read()).status, 400);
    assert.match(failed, /chunk size/i);
    strictClient.close();
    broken.close();
    await strict.shutdown();
  } finally {
    await server.shutdown();
  }
});

Deno.test("Expect: 100-continue gets 100 Continue only when the handler reads the body", async () => {
  const server = start(async (request) => {
    if (new URL(request.url).pathname === "/refuse") return new Response("no", { status: 401 });
    return new Response(await request.text());
  });
  const client = await Client.open(server);
  try {
    await client.send(
      "POST /read HTTP/1.1\r\nHost: box\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    const interim = await client.read();
    assert.equal(interim.status, 100);
    await client.send("hello");
    assert.equal(dec.decode((await client.read()).body), "hello");

    // Refused without reading: no 100, and the unsent body ends the connection (RFC 9110 section 10.1.1).
    await client.send(
      "POST /refuse HTTP/1.1\r\nHost: box\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    const refused = await client.read();
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get("connection"), "close");
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("HEAD is answered without a body and the connection carries on", async () => {
  const server = start(() =>
    new Response("twelve bytes", { headers: { "Content-Length": "12", "Content-Type": "text/plain" } })
  );
  const client = await Client.open(server);
  try {
    await client.send("HEAD / HTTP/1.1\r\nHost: box\r\n\r\n");
    const head = await client.read({ head: true });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), "12");
    await client.send(get("/"));
    assert.equal(dec.decode((await client.read()).body), "twelve bytes");
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("HTTP/1.0 is answered and closed unless it asks for keep-alive", async () => {
  const server = start(echo);
  try {
    const once = await Client.open(server);
    await once.send("GET /old HTTP/1.0\r\n\r\n");
    const answer = await once.read();
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get("connection"), "close");
    assert.ok(await once.closedWithin(2000));
    once.close();

    const kept = await Client.open(server);
    await kept.send("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert.equal((await kept.read()).headers.get("connection"), "keep-alive");
    await kept.send("GET /again HTTP/1.1\r\nHost: box\r\nConnection: close\r\n\r\n");
    assert.equal((await kept.read()).headers.get("connection"), "close");
    assert.ok(await kept.closedWithin(2000));
    kept.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("a head trickled one byte at a time is cut with 408 at the header timeout (slowloris)", async () => {
  const server = start(echo, { headerTimeoutMs: 500 });
  const client = await Client.open(server);
  try {
    const started = performance.now();
    const head = get("/slow", "X-Test: dribble\r\n");
    let sent = 0;
    const answer = client.read();
    for (; sent < head.length - 2; sent++) {
      const ok = await client.send(head[sent]!).then(() => true, () => false);
      if (!ok) break;
      await sleep(50);
      if (performance.now() - started > 3000) break;
    }
    const cut = await answer;
    const ms = performance.now() - started;
    assert.equal(cut.status, 408);
    assert.ok(ms < 1500, `cut after ${ms.toFixed(0)} ms`);
    assert.ok(sent < head.length - 2, `${sent} bytes went out before the cut`);
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("an idle keep-alive connection is closed at the idle timeout", async () => {
  const server = start(echo, { idleTimeoutMs: 400 });
  try {
    const idle = await Client.open(server);
    await idle.send(get("/once"));
    assert.equal((await idle.read()).status, 200);
    const idleStart = performance.now();
    assert.ok(await idle.closedWithin(3000), "the idle connection is closed");
    assert.ok(performance.now() - idleStart >= 300);
    idle.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("clients that never finish their TLS handshake hold only their address's connection slots", async () => {
  // Deno 2.9 cannot close a TLS connection mid-handshake (the socket stays open until the client
  // sends or leaves), so the per-address cap is what bounds them: they stay counted.
  const server = start(echo, { maxConnectionsPerIp: 2 }, false);
  const silent = await Promise.all(
    [0, 1].map(() => Deno.connect({ hostname: "127.0.0.1", port: server.addr.port })),
  );
  try {
    while (server.connections() < 2) await sleep(10);
    const third = await Client.open(server);
    const refused = await third.send(get("/")).then(() => third.read()).then(() => false, () => true);
    assert.ok(refused, "a third connection from the address is refused");
    third.close();
    // The silent clients leave: their slots are free again.
    for (const conn of silent) conn.close();
    while (server.connections() > 0) await sleep(10);
    const next = await Client.open(server);
    await next.send(get("/after"));
    assert.equal((await next.read()).status, 200);
    next.close();
  } finally {
    for (const conn of silent) {
      try {
        conn.close();
      } catch { /* closed above */ }
    }
    await server.shutdown();
  }
});

Deno.test("request heads above the limits are refused: 431 for fields, 414 for the request line, 400 for bad syntax", async () => {
  const server = start(echo, { maxHeaderFields: 10, maxHeaderBytes: 1024, maxRequestLineBytes: 256 });
  try {
    const cases: [string, number][] = [
      [get("/", Array.from({ length: 11 }, (_, i) => `X-F${i}: v\r\n`).join("")), 431],
      [get("/", `X-Big: ${"a".repeat(2000)}\r\n`), 431],
      [get(`/${"p".repeat(300)}`), 414],
      ["GET / HTTP/1.1\r\nHost: box\r\nBad Name: x\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nHost: box\r\n folded\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\n\r\n", 400],
      ["GET / HTTP/2.0\r\nHost: box\r\n\r\n", 505],
      ["GET / HTTP/1.1\nHost: box\n\n", 400],
      ["TRACE / HTTP/1.1\r\nHost: box\r\n\r\n", 501],
    ];
    for (const [head, status] of cases) {
      const client = await Client.open(server);
      await client.send(head);
      const answer = await client.read();
      assert.equal(answer.status, status, JSON.stringify(head.slice(0, 60)));
      assert.ok(await client.closedWithin(2000));
      client.close();
    }
    // Too many fields are refused before the head is complete: the server does not wait for more.
    const partial = await Client.open(server);
    await partial.send(
      `GET / HTTP/1.1\r\nHost: box\r\n${Array.from({ length: 12 }, () => "X: v\r\n").join("")}`,
    );
    assert.equal((await partial.read()).status, 431);
    partial.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("a client leaving while its request is held aborts request.signal (a held Ping is freed)", async () => {
  let aborted: () => void;
  const abortedNow = new Promise<void>((resolve) => aborted = resolve);
  let held = 0;
  const server = start(async (request) => {
    await request.arrayBuffer();
    held++;
    await new Promise<void>((resolve) => request.signal.addEventListener("abort", () => resolve()));
    aborted();
    return new Response("never read");
  });
  const client = await Client.open(server);
  try {
    await client.send(post("/Microsoft-Server-ActiveSync?Cmd=Ping", "ping body"));
    while (held === 0) await sleep(10);
    const started = performance.now();
    client.close();
    await abortedNow;
    assert.ok(performance.now() - started < 1000);
    while (server.connections() > 0) await sleep(10);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a large streamed response is sent chunked with backpressure: the body is pulled only as the client reads", async () => {
  const chunk = new Uint8Array(64 * 1024).fill(97);
  const chunks = 320; // 20 MB
  let pulled = 0;
  const server = start(() =>
    new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pulled++ < chunks) controller.enqueue(chunk);
          else controller.close();
        },
      }, { highWaterMark: 0 }),
    )
  );
  const client = await Client.open(server);
  try {
    await client.send(get("/attachment"));
    await sleep(500);
    // The client reads nothing yet: the server stops at what the socket buffers hold.
    assert.ok(pulled < chunks / 2, `${pulled} of ${chunks} chunks pulled before the client read`);
    const answer = await client.read();
    assert.equal(answer.headers.get("transfer-encoding"), "chunked");
    assert.equal(answer.body.length, chunk.length * chunks);
    assert.ok(answer.body.every((b) => b === 97));
    // And the connection is still usable.
    await client.send(get("/small"));
    assert.equal((await client.read()).status, 200);
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("a client that stops reading a large response is cut when a write makes no progress for the idle timeout", async () => {
  const chunk = new Uint8Array(64 * 1024);
  let cancelled = false;
  const server = start(() =>
    new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(chunk);
        },
        cancel() {
          cancelled = true;
        },
      }, { highWaterMark: 0 }),
    ), { idleTimeoutMs: 500 });
  const client = await Client.open(server);
  try {
    await client.send(get("/endless"));
    const started = performance.now();
    while (server.connections() > 0 && performance.now() - started < 5000) await sleep(50);
    assert.equal(server.connections(), 0, "the stalled connection is closed");
    assert.ok(cancelled, "the response body is cancelled");
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("connections per client address are capped; loopback is exempt unless told otherwise", async () => {
  const capped = start(echo, { maxConnectionsPerIp: 2 }, false);
  const open: Client[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const client = await Client.open(capped);
      await client.send(get("/held"));
      assert.equal((await client.read()).status, 200);
      open.push(client);
    }
    // The third is closed before its handshake completes.
    const third = await Client.open(capped);
    const refused = await third.send(get("/third")).then(() => third.read()).then(() => false, () => true);
    assert.ok(refused, "the third connection is refused");
    third.close();
    open.shift()!.close();
    while (capped.connections() > 1) await sleep(10);
    const fourth = await Client.open(capped);
    await fourth.send(get("/fourth"));
    assert.equal((await fourth.read()).status, 200);
    open.push(fourth);
  } finally {
    for (const client of open) client.close();
    await capped.shutdown();
  }

  const exempt = start(echo, { maxConnectionsPerIp: 1 });
  const clients = await Promise.all([Client.open(exempt), Client.open(exempt)]);
  try {
    for (const client of clients) {
      await client.send(get("/loopback"));
      assert.equal((await client.read()).status, 200);
    }
  } finally {
    for (const client of clients) client.close();
    await exempt.shutdown();
  }
});

Deno.test("shutdown() closes idle connections, refuses new ones, lets the request in flight finish with Connection: close", async () => {
  let release: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  let started = false;
  const server = start(async (request) => {
    if (new URL(request.url).pathname === "/slow") {
      started = true;
      await released;
    }
    return new Response("done");
  });
  const idle = await Client.open(server);
  const busy = await Client.open(server);
  try {
    await idle.send(get("/quick"));
    assert.equal((await idle.read()).status, 200);
    await busy.send(get("/slow"));
    while (!started) await sleep(10);
    let finished = false;
    const stopping = server.shutdown().then(() => finished = true);
    assert.ok(await idle.closedWithin(2000), "the idle connection is closed at once");
    await assert.rejects(() => Client.open(server));
    await sleep(100);
    assert.equal(finished, false, "shutdown waits for the request in flight");
    release!();
    const answer = await busy.read();
    assert.equal(dec.decode(answer.body), "done");
    assert.equal(answer.headers.get("connection"), "close");
    await stopping;
    assert.equal(server.connections(), 0);
  } finally {
    idle.close();
    busy.close();
  }
});

Deno.test("a handler that throws is answered 500 by onError, or a bare 500, and the connection carries on", async () => {
  const server = serveHttp1({
    hostname: "127.0.0.1",
    port: 0,
    onError: () => new Response("handled", { status: 500, headers: { "X-Handled": "yes" } }),
  }, () => {
    throw new Error("boom");
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  try {
    // Plain TCP (no cert given): the same server without TLS.
    await conn.write(enc.encode(get("/") + get("/")));
    let text = "";
    const buffer = new Uint8Array(4096);
    while ((text.match(/handled/g) ?? []).length < 2) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += dec.decode(buffer.subarray(0, n));
    }
    assert.equal((text.match(/HTTP\/1\.1 500/g) ?? []).length, 2);
    assert.match(text, /x-handled: yes/);
    assert.doesNotMatch(text, /boom/);
  } finally {
    conn.close();
    await server.shutdown();
  }
});
