/**
 * A fault-injecting proxy for reliability tests.
 *
 * HTTP mode sits between an EAS client and the box: it terminates TLS with
 * the box's own certificate (so the client's trust is unchanged), forwards
 * each HTTP/1.1 exchange to the box and, per exchange, passes the answer,
 * drops the request before the server sees it, drops the response after the
 * server committed it, truncates the response mid-body, or delays it. The
 * `decide` callback sees the command, so a test can drop every other Sync
 * response or cut large ItemOperations bodies in half.
 *
 * TCP mode sits in front of a mailstore port (IMAP, SMTP, CalDAV/CardDAV): per
 * connection it passes, refuses (closes at once), cuts the connection after
 * some bytes of the server's answer (a backend that dies mid-command or
 * mid-response), slows the server's answer down, or answers with fixed bytes
 * of its own (an HTTP 401 from a server that refuses logins).
 *
 * CLI (listens on a random loopback port and prints it):
 *   deno run -A tools/fault_proxy.ts --target https://127.0.0.1:8443 --ca ca.pem
 *   --cert cert.pem --key key.pem [--drop 0.2] [--truncate 0.1] [--delay 0.1]
 *   [--delay-ms 2000] [--every-other Sync] [--seed N]
 *
 * @module
 */

/** What happens to one HTTP exchange. */
export type HttpFault =
  | { kind: "pass" }
  /** The request never reaches the server; the client's connection is closed. */
  | { kind: "drop-request" }
  /** The server handles the request; its answer is discarded and the connection closed. */
  | { kind: "drop-response" }
  /** The status line, headers and `fraction` of the body reach the client, then the connection closes. */
  | { kind: "truncate"; fraction: number }
  /** The answer is held back `ms` milliseconds. */
  | { kind: "delay"; ms: number };

/** What the decider knows about an exchange. */
export interface ExchangeInfo {
  /** 0-based count of exchanges through this proxy. */
  index: number;
  method: string;
  /** Path and query. */
  target: string;
  /** The EAS command from `Cmd=` (plain query form), or "". */
  command: string;
  /** How many exchanges of this command went through before this one. */
  commandIndex: number;
}

/** What happens to one TCP connection. */
export type TcpFault =
  | { kind: "pass" }
  | { kind: "refuse" }
  /** Forward `afterBytes` of the server's bytes, then close both sides. */
  | { kind: "cut"; afterBytes: number }
  /** Hold each chunk of the server's bytes back `delayMs` (a slow or overloaded server). */
  | { kind: "slow"; delayMs: number }
  /**
   * Answer with `bytes` instead of the server once the client has sent something, then close
   * (e.g. an HTTP 401 or 503 from a server that refuses logins or is overloaded).
   */
  | { kind: "reply"; bytes: Uint8Array };

/** Counts of what the proxy did. */
export interface FaultStats {
  exchanges: number;
  passed: number;
  droppedRequests: number;
  droppedResponses: number;
  truncated: number;
  delayed: number;
  connections: number;
}

/** A running proxy. */
export interface FaultProxy {
  /** `https://127.0.0.1:PORT` (HTTP mode with TLS), `http://...` or `127.0.0.1:PORT` (TCP mode). */
  url: string;
  port: number;
  stats: FaultStats;
  /** Closes every open connection (a backend restart, seen from the box). */
  dropConnections(): void;
  close(): Promise<void>;
}

/** HTTP mode options. */
export interface HttpProxyOptions {
  /** Where the box listens, e.g. https://127.0.0.1:8443. */
  target: string;
  /** CA certificates to trust on the way to an https target. */
  caCerts?: string[];
  /** Certificate and key to terminate client TLS with; plain HTTP when omitted. */
  tls?: { cert: string; key: string };
  decide: (info: ExchangeInfo) => HttpFault;
}

const CRLF2 = new Uint8Array([13, 10, 13, 10]);
/** Largest head (request line and headers) the proxy accepts. */
const MAX_HEAD = 256 * 1024;

function emptyStats(): FaultStats {
  return {
    exchanges: 0,
    passed: 0,
    droppedRequests: 0,
    droppedResponses: 0,
    truncated: 0,
    delayed: 0,
    connections: 0,
  };
}

/** A buffered reader over a connection, enough to frame HTTP/1.1 messages. */
class Framer {
  #buffer = new Uint8Array(0);
  constructor(private readonly conn: Deno.Conn) {}

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.conn.read(chunk).catch(() => null);
    if (n === null) return false;
    const next = new Uint8Array(this.#buffer.length + n);
    next.set(this.#buffer);
    next.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = next;
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buffer.slice(0, n);
    this.#buffer = this.#buffer.slice(n);
    return out;
  }

  /** The head up to and including CRLFCRLF, or undefined at end of stream. */
  async head(): Promise<Uint8Array | undefined> {
    while (true) {
      const at = indexOf(this.#buffer, CRLF2);
      if (at >= 0) return this.#take(at + 4);
      if (this.#buffer.length > MAX_HEAD) throw new Error("HTTP head too large for the fault proxy");
      if (!(await this.#fill())) return undefined;
    }
  }

  async exactly(n: number): Promise<Uint8Array> {
    while (this.#buffer.length < n) {
      if (!(await this.#fill())) throw new Error("Connection closed inside a message body");
    }
    return this.#take(n);
  }

  async line(): Promise<Uint8Array> {
    while (true) {
      const at = indexOf(this.#buffer, CRLF2.subarray(0, 2));
      if (at >= 0) return this.#take(at + 2);
      if (!(await this.#fill())) throw new Error("Connection closed inside a chunked body");
    }
  }

  async rest(): Promise<Uint8Array> {
    while (await this.#fill()) { /* read to end of stream */ }
    return this.#take(this.#buffer.length);
  }

  /** The raw body bytes (as framed on the wire) of a message with these headers. */
  async body(headers: Map<string, string>, untilClose: boolean): Promise<Uint8Array> {
    if ((headers.get("transfer-encoding") ?? "").toLowerCase().includes("chunked")) {
      const parts: Uint8Array[] = [];
      while (true) {
        const sizeLine = await this.line();
        parts.push(sizeLine);
        const size = parseInt(new TextDecoder().decode(sizeLine), 16);
        if (!Number.isFinite(size)) throw new Error("Bad chunk size");
        if (size === 0) {
          // Trailers end with an empty line.
          while (true) {
            const trailer = await this.line();
            parts.push(trailer);
            if (trailer.length === 2) return concat(parts);
          }
        }
        parts.push(await this.exactly(size + 2));
      }
    }
    const length = headers.get("content-length");
    if (length !== undefined) return await this.exactly(Number(length));
    return untilClose ? await this.rest() : new Uint8Array(0);
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function parseHead(head: Uint8Array): { first: string; headers: Map<string, string> } {
  const lines = new TextDecoder().decode(head).split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { first: lines[0] ?? "", headers };
}

/** Writes all bytes (Deno.Conn.write may write only part of them). */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

function closeQuietly(conn: Deno.Conn | undefined): void {
  try {
    conn?.close();
  } catch {
    // already closed
  }
}

function listen(
  port: number,
  tls: { cert: string; key: string } | undefined,
): Deno.Listener {
  return tls
    ? Deno.listenTls({ hostname: "127.0.0.1", port, cert: tls.cert, key: tls.key })
    : Deno.listen({ hostname: "127.0.0.1", port });
}

/** Starts the HTTP-mode proxy on a random loopback port. */
export function startHttpFaultProxy(options: HttpProxyOptions): FaultProxy {
  const target = new URL(options.target);
  const targetPort = Number(target.port || (target.protocol === "https:" ? 443 : 80));
  const listener = listen(0, options.tls);
  const stats = emptyStats();
  const perCommand = new Map<string, number>();
  const open = new Set<Deno.Conn>();
  let closing = false;

  const connectUpstream = () =>
    target.protocol === "https:"
      ? Deno.connectTls({
        hostname: target.hostname,
        port: targetPort,
        ...(options.caCerts ? { caCerts: options.caCerts } : {}),
      })
      : Deno.connect({ hostname: target.hostname, port: targetPort });

  async function serve(client: Deno.Conn): Promise<void> {
    let upstream: Deno.Conn | undefined;
    try {
      const fromClient = new Framer(client);
      let fromServer: Framer | undefined;
      while (true) {
        const head = await fromClient.head();
        if (!head) return;
        const { first, headers } = parseHead(head);
        const body = await fromClient.body(headers, false);
        const [method = "", path = ""] = first.split(" ");
        const command = /[?&]Cmd=([A-Za-z]+)/.exec(path)?.[1] ?? "";
        const commandIndex = perCommand.get(command) ?? 0;
        perCommand.set(command, commandIndex + 1);
        const fault = options.decide({
          index: stats.exchanges++,
          method,
          target: path,
          command,
          commandIndex,
        });
        if (fault.kind === "drop-request") {
          stats.droppedRequests++;
          return;
        }
        if (!upstream) {
          upstream = await connectUpstream();
          open.add(upstream);
          fromServer = new Framer(upstream);
        }
        await writeAll(upstream, concat([head, body]));
        const responseHead = await fromServer!.head();
        if (!responseHead) return;
        const response = parseHead(responseHead);
        const status = Number(response.first.split(" ")[1]);
        const noBody = method === "HEAD" || status === 204 || status === 304 ||
          (status >= 100 && status < 200);
        const responseBody = noBody ? new Uint8Array(0) : await fromServer!.body(response.headers, true);
        if (fault.kind === "drop-response") {
          stats.droppedResponses++;
          return;
        }
        if (fault.kind === "truncate") {
          stats.truncated++;
          const keep = Math.floor(responseBody.length * Math.min(Math.max(fault.fraction, 0), 0.99));
          await writeAll(client, concat([responseHead, responseBody.subarray(0, keep)]));
          return;
        }
        if (fault.kind === "delay") {
          stats.delayed++;
          await new Promise((resolve) => setTimeout(resolve, fault.ms));
        } else {
          stats.passed++;
        }
        await writeAll(client, concat([responseHead, responseBody]));
        if ((response.headers.get("connection") ?? "").toLowerCase() === "close") return;
      }
    } catch {
      // A broken side ends the pair, as a real network would.
    } finally {
      if (upstream) open.delete(upstream);
      open.delete(client);
      closeQuietly(upstream);
      closeQuietly(client);
    }
  }

  const accepting = (async () => {
    for await (const conn of listener) {
      if (closing) {
        closeQuietly(conn);
        continue;
      }
      stats.connections++;
      open.add(conn);
      serve(conn);
    }
  })().catch(() => {});

  const port = (listener.addr as Deno.NetAddr).port;
  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    stats,
    dropConnections() {
      for (const conn of open) closeQuietly(conn);
    },
    async close() {
      closing = true;
      listener.close();
      for (const conn of open) closeQuietly(conn);
      await accepting;
    },
  };
}

/** TCP mode options. */
export interface TcpProxyOptions {
  targetHost: string;
  targetPort: number;
  /** Decides per connection (index counts from 0). */
  decide: (index: number) => TcpFault;
}

/** Starts the TCP-mode proxy (for IMAP or SMTP ports) on a random loopback port. */
export function startTcpFaultProxy(options: TcpProxyOptions): FaultProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const stats = emptyStats();
  const open = new Set<Deno.Conn>();

  async function pipe(from: Deno.Conn, to: Deno.Conn, limit: number, delayMs = 0): Promise<void> {
    const buffer = new Uint8Array(32 * 1024);
    let sent = 0;
    while (sent < limit) {
      const n = await from.read(buffer).catch(() => null);
      if (n === null) break;
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      const take = Math.min(n, limit - sent);
      const ok = await writeAll(to, buffer.subarray(0, take)).then(() => true, () => false);
      if (!ok) break;
      sent += take;
    }
  }

  async function serve(client: Deno.Conn, fault: TcpFault): Promise<void> {
    let upstream: Deno.Conn | undefined;
    try {
      if (fault.kind === "refuse") {
        stats.droppedRequests++;
        return;
      }
      if (fault.kind === "reply") {
        stats.droppedRequests++;
        await client.read(new Uint8Array(32 * 1024)).catch(() => null);
        await writeAll(client, fault.bytes).catch(() => {});
        return;
      }
      upstream = await Deno.connect({ hostname: options.targetHost, port: options.targetPort });
      open.add(upstream);
      const limit = fault.kind === "cut" ? fault.afterBytes : Infinity;
      if (fault.kind === "cut") stats.truncated++;
      else if (fault.kind === "slow") stats.delayed++;
      else stats.passed++;
      const delayMs = fault.kind === "slow" ? fault.delayMs : 0;
      await Promise.race([pipe(client, upstream, Infinity), pipe(upstream, client, limit, delayMs)]);
    } catch {
      // the target is down: the client sees its connection closed
    } finally {
      if (upstream) open.delete(upstream);
      open.delete(client);
      closeQuietly(upstream);
      closeQuietly(client);
    }
  }

  const accepting = (async () => {
    for await (const conn of listener) {
      open.add(conn);
      serve(conn, options.decide(stats.connections++));
    }
  })().catch(() => {});
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    url: `127.0.0.1:${port}`,
    port,
    stats,
    dropConnections() {
      for (const conn of open) closeQuietly(conn);
    },
    async close() {
      listener.close();
      for (const conn of open) closeQuietly(conn);
      await accepting;
    },
  };
}

/** A seeded random number generator (mulberry32), so a failing run can be repeated. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The standard mix: every other Sync response dropped, large ItemOperations
 * answers cut mid-body every other time, and a share of the rest dropped,
 * truncated or delayed at random.
 */
export function standardFaults(
  random: () => number,
  rates: { drop?: number; truncate?: number; delay?: number; delayMs?: number; everyOther?: string } = {},
): (info: ExchangeInfo) => HttpFault {
  const { drop = 0.1, truncate = 0.05, delay = 0.05, delayMs = 300, everyOther = "Sync" } = rates;
  return (info) => {
    if (info.command === everyOther && info.commandIndex % 2 === 1) return { kind: "drop-response" };
    if (info.command === "ItemOperations" && info.commandIndex % 2 === 1) {
      return { kind: "truncate", fraction: 0.5 };
    }
    const roll = random();
    if (roll < drop / 2) return { kind: "drop-request" };
    if (roll < drop) return { kind: "drop-response" };
    if (roll < drop + truncate) return { kind: "truncate", fraction: random() };
    if (roll < drop + truncate + delay) return { kind: "delay", ms: Math.floor(random() * delayMs) };
    return { kind: "pass" };
  };
}

if (import.meta.main) {
  const args = new Map<string, string>();
  for (let i = 0; i < Deno.args.length; i += 2) {
    args.set(Deno.args[i]!.replace(/^--/, ""), Deno.args[i + 1] ?? "");
  }
  const target = args.get("target");
  if (!target) {
    console.error(
      "Usage: fault_proxy.ts --target URL [--cert PEM --key PEM] [--drop R] [--truncate R] [--delay R]",
    );
    Deno.exit(2);
  }
  const cert = args.get("cert");
  const key = args.get("key");
  const proxy = await startHttpFaultProxy({
    target,
    ...(cert && key
      ? { tls: { cert: await Deno.readTextFile(cert), key: await Deno.readTextFile(key) } }
      : {}),
    ...(args.get("ca") ? { caCerts: [await Deno.readTextFile(args.get("ca")!)] } : {}),
    decide: standardFaults(seededRandom(Number(args.get("seed") ?? Date.now())), {
      drop: Number(args.get("drop") ?? 0.1),
      truncate: Number(args.get("truncate") ?? 0.05),
      delay: Number(args.get("delay") ?? 0.05),
      delayMs: Number(args.get("delay-ms") ?? 300),
      everyOther: args.get("every-other") ?? "Sync",
    }),
  });
  console.log(`Fault proxy ${proxy.url} -> ${target}`);
  Deno.addSignalListener("SIGINT", () => {
    console.log(JSON.stringify(proxy.stats));
    proxy.close().then(() => Deno.exit(0));
  });
}
