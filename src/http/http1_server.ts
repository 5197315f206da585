/**
 * A small HTTP/1.1 server (RFC 9112) for the EAS listener, on Deno.listenTls
 * or Deno.listen, calling a fetch-style handler as Deno.serve does. It exists
 * for what Deno.serve cannot do: time out a request head that trickles in
 * (slowloris) and an idle keep-alive connection; cap open connections per
 * client address (which also bounds clients that never finish their TLS
 * handshake: Deno 2.9 cannot close those, see #start); and hold a waiting request (a Ping) with
 * as little memory as possible: a held request is the Request, its
 * AbortController and one small pending read that notices the client leaving.
 *
 * Not supported, because phones never need them: HTTP/2, upgrades, trailers
 * in responses, request bodies on GET and HEAD (the connection closes after
 * such a request instead).
 */
import { LIMITS } from "../config/limits.ts";
import { concatBytes } from "./_bytes.ts";
import { RequestBody } from "./_http1_body.ts";
import { type HeadLimits, HttpHeadError, type RequestHead, scanRequestHead } from "./_http1_head.ts";

export { HttpHeadError } from "./_http1_head.ts";
export { HttpBodyError } from "./_http1_body.ts";

/** What a handler learns besides the request (the shape Deno.serve passes). */
export interface Http1ServeInfo {
  remoteAddr: Deno.NetAddr;
}

/** A fetch-style handler, as for Deno.serve. */
export type Http1Handler = (request: Request, info: Http1ServeInfo) => Response | Promise<Response>;

/** Timeouts and caps of the transport (defaults in LIMITS, config/limits.ts). */
export interface TransportLimits extends HeadLimits {
  /** From the connection's start, or a keep-alive request's first byte, to the end of the head. */
  headerTimeoutMs: number;
  /** A keep-alive connection waiting for its next request. */
  idleTimeoutMs: number;
  maxConnectionsPerIp: number;
}

/** Options of {@link serveHttp1}. */
export interface Http1ServeOptions {
  hostname?: string;
  port?: number;
  /** PEM certificate chain and key: TLS (ALPN "http/1.1"); without them plain TCP. */
  cert?: string;
  key?: string;
  limits?: Partial<TransportLimits>;
  /**
   * Loopback clients are not capped per address (default true): a reverse
   * proxy or the load tools on the box itself are one address for everyone.
   */
  exemptLoopback?: boolean;
  /** Answer when the handler throws (default: a bare 500). */
  onError?: (error: unknown) => Response | Promise<Response>;
}

/** A running server. */
export interface Http1Server {
  readonly addr: Deno.NetAddr;
  /** Stops accepting, closes idle connections, lets requests in flight finish, then resolves. */
  shutdown(): Promise<void>;
  /** Resolves once the server stopped and every connection closed. */
  readonly finished: Promise<void>;
  /** Open connections (tests, dashboard). */
  connections(): number;
}

/** Bytes asked of the socket while a request head or body is read. */
const READ_BYTES = 16 * 1024;
/**
 * Bytes of the read kept pending while a handler runs, to notice the client
 * leaving (and a pipelined request arriving): small, since every held Ping
 * has one.
 */
const WATCH_BYTES = 64;
/** A response body up to this size is sent with Content-Length, larger or slower ones chunked. */
const BUFFER_RESPONSE_BYTES = 64 * 1024;
/**
 * After an answer that left the request body unread, the body is drained this
 * long (and this much) before closing, so the client reads the answer instead
 * of a TCP reset (RFC 9112 section 9.6, "lingering close").
 */
const LINGER_MS = 2000;
const LINGER_BYTES = 1024 * 1024;
/** Methods the Fetch Request refuses; a server of EAS has no use for them (RFC 9110 section 9.3.8). */
const REFUSED_METHODS = new Set(["TRACE", "TRACK"]);

const REASONS: Record<number, string> = {
  100: "Continue",
  200: "OK",
  201: "Created",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  414: "URI Too Long",
  417: "Expectation Failed",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  449: "Retry With",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

/** Response fields the server itself writes (hop-by-hop, RFC 9110 section 7.6.1, and the framing). */
const OWN_FIELDS = new Set(["connection", "keep-alive", "transfer-encoding", "date", "upgrade"]);

const encoder = new TextEncoder();
const CONTINUE = encoder.encode("HTTP/1.1 100 Continue\r\n\r\n");
const LAST_CHUNK = encoder.encode("0\r\n\r\n");
const CRLF = encoder.encode("\r\n");
const EMPTY = new Uint8Array(0);
const NO_FIELDS: [string, string][] = [];

let dateSecond = 0;
let dateText = "";
/** The Date field (RFC 9110 section 6.6.1), formatted once per second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

function isLoopback(hostname: string): boolean {
  return hostname.startsWith("127.") || hostname === "::1" || hostname.startsWith("::ffff:127.");
}

/** Starts the server; see {@link Http1Server}. */
export function serveHttp1(options: Http1ServeOptions, handler: Http1Handler): Http1Server {
  const limits: TransportLimits = {
    headerTimeoutMs: LIMITS.headerTimeoutMs,
    idleTimeoutMs: LIMITS.idleTimeoutMs,
    maxConnectionsPerIp: LIMITS.maxConnectionsPerIp,
    maxRequestLineBytes: LIMITS.maxRequestLineBytes,
    maxHeaderBytes: LIMITS.maxHeaderBytes,
    maxHeaderFields: LIMITS.maxHeaderFields,
    ...options.limits,
  };
  const tls = options.cert !== undefined && options.key !== undefined;
  const listenOptions = { hostname: options.hostname ?? "0.0.0.0", port: options.port ?? 0 };
  const listener: Deno.Listener = tls
    ? Deno.listenTls({
      ...listenOptions,
      cert: options.cert!,
      key: options.key!,
      alpnProtocols: ["http/1.1"],
    })
    : Deno.listen(listenOptions);
  const server = new Server(listener, tls, limits, handler, options);
  return server;
}

class Server implements Http1Server {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  readonly scheme: string;
  readonly #open = new Set<Connection>();
  readonly #perIp = new Map<string, number>();
  #closing = false;
  #allClosed: (() => void) | undefined;

  constructor(
    readonly listener: Deno.Listener,
    readonly tls: boolean,
    readonly limits: TransportLimits,
    readonly handler: Http1Handler,
    readonly options: Http1ServeOptions,
  ) {
    this.addr = listener.addr as Deno.NetAddr;
    this.scheme = tls ? "https" : "http";
    this.finished = this.#accept();
  }

  get closing(): boolean {
    return this.#closing;
  }

  connections(): number {
    return this.#open.size;
  }

  async #accept(): Promise<void> {
    while (!this.#closing) {
      let conn: Deno.Conn;
      try {
        conn = await this.listener.accept();
      } catch (error) {
        if (this.#closing || error instanceof Deno.errors.BadResource) break;
        // Out of file descriptors and the like: wait a moment instead of spinning.
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const remoteAddr = conn.remoteAddr as Deno.NetAddr;
      const ip = remoteAddr.hostname;
      const exempt = (this.options.exemptLoopback ?? true) && isLoopback(ip);
      const count = this.#perIp.get(ip) ?? 0;
      if (!exempt && count >= this.limits.maxConnectionsPerIp) {
        // Above the per-address cap: closed before the TLS handshake costs anything.
        try {
          conn.close();
        } catch { /* already closed */ }
        continue;
      }
      this.#perIp.set(ip, count + 1);
      const connection = new Connection(this, conn, { remoteAddr });
      this.#open.add(connection);
      connection.run().finally(() => {
        this.#open.delete(connection);
        const left = (this.#perIp.get(ip) ?? 1) - 1;
        if (left <= 0) this.#perIp.delete(ip);
        else this.#perIp.set(ip, left);
        if (this.#closing && this.#open.size === 0) this.#allClosed?.();
      });
    }
    if (this.#open.size > 0) {
      await new Promise<void>((resolve) => this.#allClosed = resolve);
    }
  }

  async shutdown(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      try {
        this.listener.close();
      } catch { /* already closed */ }
      for (const connection of this.#open) connection.closeIfIdle();
    }
    await this.finished;
  }
}

/** One client connection: requests read and answered in order (pipelining included). */
class Connection {
  #buf: Uint8Array = EMPTY;
  #reading: Promise<boolean> | null = null;
  #eof = false;
  #closed = false;
  /** Waiting for a request head with nothing of it received yet: shutdown closes it at once. */
  #idle = false;
  /** A handler is running or its response is being written. */
  #busy = false;
  #watching = false;
  /** The handler is reading the request body: the watch pauses (the body's reads are the large ones). */
  #bodyActive = false;
  /** The request body, while it has not been read to its end. */
  #body: RequestBody | undefined;
  #abort: AbortController | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ended: (() => void) | undefined;

  constructor(readonly server: Server, readonly conn: Deno.Conn, readonly info: Http1ServeInfo) {}

  /** Reads more bytes (one read at a time; concurrent callers share it); false at end of stream. */
  fill(size = READ_BYTES): Promise<boolean> {
    if (this.#eof) return Promise.resolve(false);
    if (this.#reading) return this.#reading;
    // Promise callbacks rather than an async function: one suspended frame less per held request.
    const buffer = new Uint8Array(size);
    return this.#reading = this.conn.read(buffer).then(
      (n) => this.#got(buffer, n),
      () => this.#got(buffer, null),
    );
  }

  #got(buffer: Uint8Array, n: number | null): boolean {
    this.#reading = null;
    if (n === null) {
      this.#eof = true;
      return false;
    }
    // A short read is copied out: a held connection must not pin a whole read buffer.
    const got = n < buffer.length / 2 ? buffer.slice(0, n) : buffer.subarray(0, n);
    if (this.#buf.length === 0) {
      this.#buf = got;
    } else {
      const joined = new Uint8Array(this.#buf.length + n);
      joined.set(this.#buf);
      joined.set(got, this.#buf.length);
      this.#buf = joined;
    }
    return true;
  }

  buffered(): Uint8Array {
    return this.#buf;
  }

  consume(n: number): void {
    this.#buf = n >= this.#buf.length ? EMPTY : this.#buf.subarray(n);
  }

  closeIfIdle(): void {
    if (this.#idle) this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#eof = true;
    clearTimeout(this.#timer);
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  /** Closes the connection after `ms` unless cleared; `onTimeout` may answer first. */
  #deadline(ms: number, onTimeout?: () => Promise<void>): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (onTimeout) onTimeout().finally(() => this.close());
      else this.close();
    }, ms);
  }

  /** Serves the connection; resolves when it closed. */
  run(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#ended = resolve;
      this.#start();
    });
  }

  async #start(): Promise<void> {
    try {
      // No deadline on the handshake: with Deno 2.9, closing a TlsConn whose handshake has not
      // finished leaves its socket open until the client sends or closes (the TLS stream lingers
      // to finish the handshake first; tests/http/http1_server.test.ts shows it). The connection
      // stays counted against its address's cap instead (maxConnectionsPerIp) until the handshake
      // ends, so a silent client holds at most that many descriptors, never an uncounted one.
      if (this.server.tls) await (this.conn as Deno.TlsConn).handshake();
    } catch {
      // Handshake failures (the client left, spoke no TLS or no TLS 1.2+): the connection ends.
      this.#end();
      return;
    }
    this.#next(true);
  }

  /**
   * One request after another, chained with promise callbacks rather than an
   * async loop: a held request keeps one suspended frame (#exchange) less.
   */
  #next(first: boolean): void {
    this.#readHead(first)
      .then((head) => head ? this.#exchange(head) : false)
      .then((keep) => keep && !this.#closed ? this.#next(false) : this.#end(), () => this.#end());
  }

  #end(): void {
    this.close();
    this.#ended?.();
    this.#ended = undefined;
  }

  /**
   * Reads the next request head within the header timeout (from the start of
   * the connection, or from a keep-alive request's first byte) or the idle
   * timeout; a head that breaks the limits is answered (400, 414, 431, ...)
   * and ends the connection.
   */
  async #readHead(first: boolean): Promise<RequestHead | null> {
    const limits = this.server.limits;
    const timeout = () => this.#writeError(408, "Request head not received in time");
    let started = first || this.#buf.length > 0;
    if (started) this.#deadline(limits.headerTimeoutMs, timeout);
    else this.#deadline(limits.idleTimeoutMs);
    try {
      while (true) {
        if (this.#buf.length > 0) {
          if (!started) {
            started = true;
            this.#deadline(limits.headerTimeoutMs, timeout);
          }
          const scan = scanRequestHead(this.#buf, limits);
          if (scan.kind === "complete") {
            this.consume(scan.length);
            clearTimeout(this.#timer);
            this.#timer = undefined;
            return scan.head;
          }
        }
        if (this.server.closing && this.#buf.length === 0) return null;
        this.#idle = this.#buf.length === 0;
        const more = await this.fill();
        this.#idle = false;
        if (!more) return null;
      }
    } catch (error) {
      if (!(error instanceof HttpHeadError)) throw error;
      clearTimeout(this.#timer);
      await this.#writeError(error.status, error.message);
      return null;
    }
  }

  /** A bare answer that ends the connection (bad or late request heads). */
  async #writeError(status: number, message: string): Promise<void> {
    const body = encoder.encode(message);
    const head = `HTTP/1.1 ${status} ${REASONS[status] ?? ""}\r\ndate: ${httpDate()}\r\n` +
      `content-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`;
    await this.#writeAll(concatBytes([encoder.encode(head), body])).catch(() => {});
  }

  /** One request and its answer; true when the connection carries on. */
  async #exchange(head: RequestHead): Promise<boolean> {
    const server = this.server;
    if (REFUSED_METHODS.has(head.method.toUpperCase())) {
      await this.#writeError(501, `Method '${head.method}' is not supported`);
      return false;
    }
    const controller = new AbortController();
    this.#abort = controller;
    this.#busy = true;
    let body: RequestBody | undefined;
    let bodyUnread = false;
    let bytes: Uint8Array | undefined;
    const hasBody = head.framing.kind !== "none";
    if (hasBody && (head.method === "GET" || head.method === "HEAD")) {
      // The Fetch Request cannot carry it; the connection ends after the answer instead of reading it.
      bodyUnread = true;
    } else if (head.framing.kind === "length" && this.#buf.length >= head.framing.length) {
      // The whole body came with the head (a Ping, most commands): handed over as bytes, which a
      // Request keeps without a stream; the body's framing ends here.
      bytes = this.#buf.slice(0, head.framing.length);
      this.consume(head.framing.length);
    } else if (hasBody) {
      body = new RequestBody(this, head.framing, {
        beforeFirstRead: () => {
          this.#bodyActive = true;
          return head.expectContinue ? this.#writeAll(CONTINUE) : Promise.resolve();
        },
        onEnd: () => {
          this.#bodyActive = false;
          this.#watch();
        },
      });
    }
    this.#body = body;
    let request: Request;
    try {
      const url = head.target.startsWith("/")
        ? `${server.scheme}://${head.host || hostOf(server.addr)}${head.target}`
        : head.target === "*"
        ? `${server.scheme}://${head.host || hostOf(server.addr)}/`
        : head.target;
      request = new Request(url, {
        method: head.method,
        headers: head.fields,
        ...(body ? { body: body.stream, duplex: "half" } : bytes ? { body: bytes } : {}),
      } as RequestInit);
      // The controller's own signal, not one that follows it (init.signal): a following signal
      // costs two more AbortSignals, weak references and a finalization cell per held request.
      Object.defineProperty(request, "signal", { value: controller.signal });
      // The fields now live in the Request's Headers; the head stays referenced while the handler runs.
      head.fields = NO_FIELDS;
    } catch (error) {
      await this.#writeError(400, error instanceof Error ? error.message : "Bad request");
      return false;
    }
    this.#watch();
    let response: Response;
    try {
      response = await server.handler(request, this.info);
      if (!(response instanceof Response)) throw new TypeError("Handler did not return a Response");
    } catch (error) {
      response = await this.#errorResponse(error);
    }
    if (body && !body.finished()) bodyUnread = !body.drainBuffered();
    const keepAlive = head.keepAlive && !bodyUnread && !server.closing &&
      !/\bclose\b/i.test(response.headers.get("Connection") ?? "");
    const kept = await this.#respond(head, response, keepAlive, controller);
    this.#busy = false;
    this.#bodyActive = false;
    this.#body = undefined;
    this.#abort = null;
    if (!kept) {
      if (bodyUnread && !this.#closed && !this.#eof) await this.#linger();
      return false;
    }
    return true;
  }

  async #errorResponse(error: unknown): Promise<Response> {
    try {
      if (this.server.options.onError) return await this.server.options.onError(error);
    } catch { /* fall through to the bare answer */ }
    return new Response("Internal server error", { status: 500 });
  }

  /**
   * While a handler runs, one small read stays pending: end of stream means
   * the client left, and the request's signal aborts (a held Ping is freed).
   * Bytes that arrive meanwhile (a pipelined request) are kept for later, up
   * to one request head's worth.
   */
  #watch(): void {
    if (this.#watching) return;
    this.#watching = true;
    const limits = this.server.limits;
    // Promise callbacks rather than an async loop: one suspended frame less per held request.
    const next = (): void => {
      if (
        !this.#busy || this.#bodyActive ||
        this.#buf.length > limits.maxRequestLineBytes + limits.maxHeaderBytes
      ) {
        this.#watching = false;
        return;
      }
      // Bytes of an unread body come in large reads; after it, only the end of stream is expected.
      const size = this.#body && !this.#body.finished() ? READ_BYTES : WATCH_BYTES;
      this.fill(size).then((more) => {
        if (more) return next();
        this.#watching = false;
        this.#abort?.abort();
      });
    };
    next();
  }

  /** Writes the response; true when the connection stays open for another request. */
  async #respond(
    head: RequestHead,
    response: Response,
    keepAlive: boolean,
    controller: AbortController,
  ): Promise<boolean> {
    const status = response.status;
    const noBody = head.method === "HEAD" || status === 204 || status === 304 || status < 200;
    let lines = `HTTP/1.${head.minorVersion} ${status} ${response.statusText || REASONS[status] || ""}\r\n` +
      `date: ${httpDate()}\r\n`;
    let declared: string | null = null;
    for (const [name, value] of response.headers) {
      if (OWN_FIELDS.has(name)) continue;
      if (name === "content-length") {
        declared = value;
        continue;
      }
      lines += `${name}: ${value}\r\n`;
    }
    const reader = response.body?.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    let complete = true;
    try {
      if (reader && !noBody) {
        complete = false;
        while (size <= BUFFER_RESPONSE_BYTES) {
          const next = await reader.read();
          if (next.done) {
            complete = true;
            break;
          }
          chunks.push(next.value);
          size += next.value.length;
        }
      }
    } catch {
      // The body stream failed before anything was sent: a 500 instead.
      reader?.cancel().catch(() => {});
      return this.#respond(head, new Response("Internal server error", { status: 500 }), false, controller);
    }
    if (noBody) {
      reader?.cancel().catch(() => {});
      if (declared !== null && status !== 204 && status >= 200) lines += `content-length: ${declared}\r\n`;
    }
    let chunked = false;
    if (!noBody) {
      if (complete) {
        lines += `content-length: ${size}\r\n`;
      } else if (declared !== null) {
        lines += `content-length: ${declared}\r\n`;
      } else if (head.minorVersion === 1) {
        chunked = true;
        lines += "transfer-encoding: chunked\r\n";
      } else {
        // HTTP/1.0 without a known length: the body ends where the connection does.
        keepAlive = false;
      }
    }
    if (!keepAlive) lines += "connection: close\r\n";
    else if (head.minorVersion === 0) lines += "connection: keep-alive\r\n";
    lines += "\r\n";
    try {
      const headBytes = encoder.encode(lines);
      const first = chunked ? chunks.filter((c) => c.length > 0).map(frameChunk) : chunks;
      await this.#writeAll(concatBytes([headBytes, ...first]));
      let sent = size;
      if (!complete && reader) {
        while (true) {
          const next = await reader.read();
          if (next.done) break;
          if (next.value.length === 0) continue;
          sent += next.value.length;
          // Backpressure: the next chunk is read only once this one is written.
          await this.#writeAll(chunked ? frameChunk(next.value) : next.value);
        }
        if (chunked) await this.#writeAll(LAST_CHUNK);
      }
      if (!chunked && !complete && declared !== null && String(sent) !== declared) {
        // The handler's Content-Length was wrong: the client cannot find the next response.
        return false;
      }
      return keepAlive;
    } catch {
      // The client left mid-response (or the body stream failed): nothing more can be framed.
      controller.abort();
      reader?.cancel().catch(() => {});
      return false;
    }
  }

  /**
   * Writes everything; a client that stops reading (a slow-read attack on a
   * large response) is cut when one write makes no progress for the idle timeout.
   */
  async #writeAll(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      this.#deadline(this.server.limits.idleTimeoutMs);
      try {
        offset += await this.conn.write(offset ? bytes.subarray(offset) : bytes);
      } finally {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
    }
  }

  /** Half-closes and drains what the client still sends, briefly, so it reads the answer (not a reset). */
  async #linger(): Promise<void> {
    try {
      await this.conn.closeWrite();
    } catch {
      return;
    }
    this.#deadline(LINGER_MS);
    let drained = 0;
    while (drained < LINGER_BYTES) {
      const before = this.#buf.length;
      if (!(await this.fill())) return;
      drained += this.#buf.length - before;
      this.#buf = EMPTY;
    }
  }
}

function hostOf(addr: Deno.NetAddr): string {
  return addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
}

function frameChunk(data: Uint8Array): Uint8Array {
  return concatBytes([encoder.encode(`${data.length.toString(16)}\r\n`), data, CRLF]);
}
