/**
 * IMAP4rev1 client (RFC 3501) for the mail bridge, with the extensions the
 * bridge relies on: CONDSTORE/QRESYNC (RFC 7162), ESEARCH (RFC 4731), MOVE
 * (RFC 6851), UIDPLUS (RFC 4315), SPECIAL-USE (RFC 6154), IDLE (RFC 2177),
 * NOTIFY (RFC 5465), LITERAL+ (RFC 7888), ENABLE (RFC 5161).
 *
 * One connection serves many callers: commands queue and run one at a time,
 * responses are matched by tag. FETCH rows stream as they arrive and big
 * literals can be streamed without holding them whole; when a consumer is slow
 * the client stops reading the socket, so memory stays bounded.
 *
 * TLS: `imaps://` connects with TLS, `imap://` upgrades with STARTTLS when the
 * server offers it. A self-signed server certificate is trusted by passing its
 * (or its CA's) PEM in `tls.caCerts`; Deno has no API to skip verification (only
 * the process-wide `--unsafely-ignore-certificate-errors` flag), so there is no
 * such option here.
 *
 * @module
 */

import { astring, checkSequenceSet, type CommandPart, flagList, mailboxArg } from "./_imap_command.ts";
import { IMAP_LIMITS } from "./_imap_limits.ts";
import {
  type AssemblerEvent,
  type DataResponse,
  expandSequenceSet,
  type FetchRow,
  formatInternalDate,
  type ImapResponse,
  type MailboxInfo,
  type MailboxStatus,
  parseEsearch,
  parseFetch,
  parseList,
  parseResponse,
  parseStatus,
  parseVanished,
  ResponseAssembler,
  type StatusResponse,
  valueBigInt,
  valueList,
  valueNumber,
  valueText,
} from "./imap_parser.ts";

export type { FetchRow, MailboxInfo, MailboxStatus } from "./imap_parser.ts";

/** A command the server answered with NO or BAD; `code` is the response code name ("TRYCREATE", "UNAVAILABLE", ...). */
export class ImapError extends Error {
  constructor(
    message: string,
    readonly status: "NO" | "BAD",
    readonly code: string | null,
    readonly response: StatusResponse | null = null,
  ) {
    super(message);
    this.name = "ImapError";
  }
}

/** The server refused the credentials (LOGIN/AUTHENTICATE NO or BAD, other than a temporary [UNAVAILABLE]-like code). */
export class ImapAuthError extends ImapError {
  constructor(message: string, status: "NO" | "BAD", code: string | null, response: StatusResponse | null) {
    super(message, status, code, response);
    this.name = "ImapAuthError";
  }
}

/** The connection failed, was closed, or a command timed out; the client is unusable afterwards. */
export class ImapConnectionError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = "ImapConnectionError";
  }
}

/** How to reach the server. */
export interface ImapConnectOptions {
  /** `imap://host[:143]` (STARTTLS when offered) or `imaps://host[:993]`. */
  url: string;
  /** PEM certificates to trust in addition to the system roots (for self-signed office servers and tests). */
  tls?: { caCerts?: string[] };
  /** Longest wait for the server while a command runs (and for connecting); default {@link IMAP_LIMITS.commandTimeoutMs}. */
  timeoutMs?: number;
}

/** Untagged data a caller did not ask for (IDLE, NOTIFY, other sessions' changes). */
export type UntaggedEvent =
  | { type: "exists"; count: number }
  | { type: "expunge"; seq: number }
  | { type: "vanished"; uids: string; earlier: boolean }
  | { type: "fetch"; row: FetchRow }
  | { type: "status"; mailbox: string; status: MailboxStatus }
  | { type: "list"; mailbox: MailboxInfo }
  | { type: "other"; response: ImapResponse };

/** Result of SELECT/EXAMINE. */
export interface SelectResult {
  exists: number;
  uidValidity: number;
  uidNext: number;
  highestModSeq?: bigint;
  /** FLAGS: the flags defined in the mailbox. */
  flags: string[];
  permanentFlags: string[];
  readOnly: boolean;
  /** UIDs expunged since the given QRESYNC modseq (a sequence set), when QRESYNC was used. */
  vanished?: string;
  /** Rows changed since the given QRESYNC modseq (UID, FLAGS, MODSEQ). */
  changed?: FetchRow[];
}

/** Options of SELECT. */
export interface SelectOptions {
  readOnly?: boolean;
  /** Ask for HIGHESTMODSEQ and MODSEQ values (RFC 7162 CONDSTORE parameter). */
  condstore?: boolean;
  /** Quick resync (RFC 7162 section 3.2.5); enables QRESYNC on the connection first. */
  qresync?: { uidValidity: number; modSeq: bigint | number; knownUids?: string };
}

/** Options of FETCH. */
export interface FetchOptions {
  /** Only messages whose mod-sequence is higher (RFC 7162 CHANGEDSINCE). */
  changedSince?: bigint | number;
  /** With changedSince: also report expunged UIDs as VANISHED (needs QRESYNC enabled). */
  vanished?: boolean;
}

/** COPYUID data (RFC 4315): source and destination UIDs pair up in order. */
export interface CopyResult {
  uidValidity: number;
  sourceUids: string;
  destinationUids: string;
  /** Source UID → destination UID. */
  map: Map<number, number>;
}

/** A running IDLE; `done()` ends it, `ended` settles when it ended for any reason (another command, server, error). */
export interface IdleHandle {
  done(): Promise<void>;
  readonly ended: Promise<void>;
}

/** Rows of a streaming FETCH; iterate once. `vanished` is filled by the time iteration ends. */
export interface FetchStream extends AsyncIterable<FetchRow> {
  /** Sequence sets from `VANISHED (EARLIER)` responses (FETCH with `vanished: true`). */
  readonly vanished: string[];
}

/** Hooks of one running command. */
interface Pending {
  tag: string;
  idle?: boolean;
  /** Untagged data and untagged status responses while this command runs; true claims them. */
  onUntagged?: (response: DataResponse | StatusResponse) => boolean | Promise<boolean>;
  shouldStream?: (prefix: string, size: number) => boolean;
  onLiteralStart?: (size: number) => void;
  onLiteralData?: (data: Uint8Array) => Promise<void> | void;
  onLiteralEnd?: () => void;
  continuation?: { resolve: (text: string) => void; reject: (error: Error) => void } | undefined;
  done: Deferred<StatusResponse>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Response codes of a refused LOGIN that mean "try later", not "wrong password" (RFC 5530). */
const TEMPORARY_LOGIN_CODES = new Set(["UNAVAILABLE", "SERVERBUG", "LIMIT", "INUSE"]);

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

function defer<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function codeOf(response: StatusResponse, name: string): StatusResponse["code"] {
  return response.code?.name === name ? response.code : null;
}

function parseCopyUid(code: StatusResponse["code"]): CopyResult | null {
  if (!code || code.args.length < 3) return null;
  const sourceUids = valueText(code.args[1]) ?? "";
  const destinationUids = valueText(code.args[2]) ?? "";
  // Order matters: the n-th source UID became the n-th destination UID (RFC 4315 section 3).
  const source = orderedSet(sourceUids);
  const destination = orderedSet(destinationUids);
  const map = new Map<number, number>();
  source.forEach((uid, i) => {
    const target = destination[i];
    if (target !== undefined) map.set(uid, target);
  });
  return { uidValidity: valueNumber(code.args[0]), sourceUids, destinationUids, map };
}

/** Expands a set keeping the server's order (a range may be written high:low); bounded like expandSequenceSet. */
function orderedSet(set: string): number[] {
  const out: number[] = [];
  for (const range of set.split(",")) {
    const [a, b] = range.split(":").map(Number);
    if (a === undefined || !Number.isSafeInteger(a)) continue;
    const end = b !== undefined && Number.isSafeInteger(b) ? b : a;
    const step = end >= a ? 1 : -1;
    for (let n = a; step > 0 ? n <= end : n >= end; n += step) {
      if (out.length >= IMAP_LIMITS.maxExpandedSet) return out;
      out.push(n);
    }
  }
  return out;
}

/**
 * An IMAP connection. Create with {@link ImapClient.connect}, then {@link login}.
 *
 * Concurrency: every method may be called from many callers at once; commands
 * run one after another. Do not await another command of the same client
 * inside a `for await` over {@link fetch}: the FETCH holds the connection until
 * its rows are consumed, so that would wait forever.
 */
export class ImapClient {
  /** Capabilities, refreshed after STARTTLS and LOGIN (upper-cased). */
  capabilities = new Set<string>();
  /** Extensions turned on with ENABLE (upper-cased). */
  readonly enabled = new Set<string>();
  /** The selected mailbox (Unicode name), or null. */
  selected: string | null = null;
  /** Settles when the connection is gone, for whatever reason. */
  readonly closed: Promise<void>;

  #conn: Deno.Conn;
  readonly #timeoutMs: number;
  readonly #assembler: ResponseAssembler;
  #current: Pending | null = null;
  #chain: Promise<void> = Promise.resolve();
  #waiting = 0;
  #tagCounter = 0;
  #error: ImapConnectionError | null = null;
  #bye: string | null = null;
  #idleStop: (() => void) | null = null;
  #resolveClosed!: () => void;
  readonly #listeners = new Set<(event: UntaggedEvent) => void>();
  readonly #closeListeners = new Set<(error: ImapConnectionError | null) => void>();
  #loggingOut = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  private constructor(conn: Deno.Conn, timeoutMs: number) {
    this.#conn = conn;
    this.#timeoutMs = timeoutMs;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#assembler = new ResponseAssembler({
      shouldStream: (prefix, size) => this.#current?.shouldStream?.(decoder.decode(prefix), size) ?? false,
    });
  }

  /** Connects, reads the greeting, upgrades with STARTTLS when offered on `imap://`, and reads capabilities. */
  static async connect(options: ImapConnectOptions): Promise<ImapClient> {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TypeError(`Invalid IMAP URL "${options.url}"`);
    }
    const secure = url.protocol === "imaps:";
    if (!secure && url.protocol !== "imap:") {
      throw new TypeError(`Unsupported IMAP URL scheme "${url.protocol}"`);
    }
    const hostname = url.hostname.replace(/^\[|\]$/g, "");
    const port = url.port ? Number(url.port) : secure ? 993 : 143;
    const timeoutMs = options.timeoutMs ?? IMAP_LIMITS.commandTimeoutMs;
    const caCerts = options.tls?.caCerts;
    const tlsOptions = caCerts ? { caCerts } : {};
    const connecting: Promise<Deno.Conn> = secure
      ? Deno.connectTls({ hostname, port, ...tlsOptions })
      : Deno.connect({ hostname, port, transport: "tcp" });
    let conn: Deno.Conn;
    try {
      conn = await withTimeout(connecting, timeoutMs, `Connecting to "${options.url}" timed out`);
    } catch (error) {
      if (error instanceof ImapConnectionError) throw error;
      throw new ImapConnectionError(`Cannot connect to "${options.url}": ${(error as Error).message}`, error);
    }
    const client = new ImapClient(conn, timeoutMs);
    try {
      await withTimeout(
        client.#handshake(secure, hostname, tlsOptions),
        timeoutMs,
        "IMAP greeting timed out",
      );
    } catch (error) {
      client.close();
      if (error instanceof ImapConnectionError || error instanceof ImapError) throw error;
      throw new ImapConnectionError(
        `IMAP handshake with "${options.url}" failed: ${(error as Error).message}`,
        error,
      );
    }
    return client;
  }

  /** Greeting and STARTTLS happen before the read loop starts, because Deno.startTls needs a conn without pending reads. */
  async #handshake(secure: boolean, hostname: string, tls: { caCerts?: string[] }): Promise<void> {
    const buffer = new Uint8Array(IMAP_LIMITS.readChunkBytes);
    const queue: AssemblerEvent[] = [];
    const next = async (): Promise<ImapResponse> => {
      for (;;) {
        const event = queue.shift();
        if (event?.kind === "line") return parseResponse(event.line);
        if (event) continue;
        const n = await this.#conn.read(buffer);
        if (n === null) throw new ImapConnectionError("Server closed the connection during the handshake");
        queue.push(...this.#assembler.push(buffer.subarray(0, n)));
      }
    };
    const greeting = await next();
    if (greeting.kind !== "status" || greeting.status === "BYE" || greeting.tag !== "*") {
      throw new ImapConnectionError(
        `Server refused the connection: "${"text" in greeting ? greeting.text : ""}"`,
      );
    }
    this.#capabilityCode(greeting);
    const direct = async (command: string): Promise<StatusResponse> => {
      const tag = this.#nextTag();
      await this.#write(encoder.encode(`${tag} ${command}\r\n`));
      for (;;) {
        const response = await next();
        if (response.kind === "data" && response.name === "CAPABILITY") {
          this.#setCapabilities(response.values);
        }
        if (response.kind === "status" && response.tag === tag) return response;
      }
    };
    if (this.capabilities.size === 0) await direct("CAPABILITY");
    if (!secure && this.capabilities.has("STARTTLS") && greeting.status !== "PREAUTH") {
      const ok = await direct("STARTTLS");
      if (ok.status !== "OK") throw new ImapConnectionError(`STARTTLS refused: "${ok.text}"`);
      // RFC 3501 6.2.1: nothing may follow the tagged OK in plaintext; leftovers would be injected data.
      if (queue.length > 0 || this.#assembler.hasPartial) {
        throw new ImapConnectionError("Server sent data after STARTTLS before the TLS handshake");
      }
      this.#conn = await Deno.startTls(this.#conn as Deno.TcpConn, { hostname, ...tls });
      this.capabilities = new Set();
      await direct("CAPABILITY");
    }
    if (queue.length > 0) {
      throw new ImapConnectionError("Unexpected data from the server during the handshake");
    }
    this.#pump();
  }

  /** True once the connection is gone. */
  get isClosed(): boolean {
    return this.#error !== null;
  }

  /** Subscribes to untagged data nobody asked for; returns the unsubscribe function. */
  onUntagged(handler: (event: UntaggedEvent) => void): () => void {
    this.#listeners.add(handler);
    return () => this.#listeners.delete(handler);
  }

  /** Calls `handler` once when the connection is gone (null error after a clean LOGOUT/close). */
  onClose(handler: (error: ImapConnectionError | null) => void): () => void {
    this.#closeListeners.add(handler);
    return () => this.#closeListeners.delete(handler);
  }

  /** LOGIN (AUTHENTICATE PLAIN when LOGIN is disabled); refreshes capabilities. */
  async login(user: string, password: string): Promise<void> {
    let parts: CommandPart[];
    if (this.capabilities.has("LOGINDISABLED")) {
      if (!this.capabilities.has("AUTH=PLAIN")) {
        throw new ImapAuthError("Server disables LOGIN and offers no AUTH=PLAIN", "NO", null, null);
      }
      const token = btoa(String.fromCharCode(...encoder.encode(`\0${user}\0${password}`)));
      parts = this.capabilities.has("SASL-IR") ? [`AUTHENTICATE PLAIN ${token}`] : ["AUTHENTICATE PLAIN"];
      if (!this.capabilities.has("SASL-IR")) parts.push({ continuationText: token });
    } else {
      parts = ["LOGIN ", astring(user), " ", astring(password)];
    }
    let response: StatusResponse;
    try {
      response = await this.#run(parts);
    } catch (error) {
      if (error instanceof ImapError && !TEMPORARY_LOGIN_CODES.has(error.code ?? "")) {
        throw new ImapAuthError(
          `Login of "${user}" refused: ${error.message}`,
          error.status,
          error.code,
          error.response,
        );
      }
      throw error;
    }
    if (!this.#capabilityCode(response)) await this.capability();
  }

  /** CAPABILITY: refreshes {@link capabilities}. */
  async capability(): Promise<Set<string>> {
    await this.#run(["CAPABILITY"]);
    return this.capabilities;
  }

  /** ENABLE (RFC 5161), e.g. `enable("QRESYNC")`; returns what the server enabled. */
  async enable(...extensions: string[]): Promise<Set<string>> {
    const enabled = new Set<string>();
    await this.#run([`ENABLE ${extensions.map((e) => astring(e)).join(" ")}`], (r) => {
      if (r.kind !== "data" || r.name !== "ENABLED") return false;
      for (const v of r.values) {
        const name = valueText(v)?.toUpperCase();
        if (name) {
          enabled.add(name);
          this.enabled.add(name);
        }
      }
      return true;
    });
    return enabled;
  }

  /** LIST "" "*" with SPECIAL-USE attributes where offered; names decoded to Unicode. */
  async list(pattern = "*"): Promise<MailboxInfo[]> {
    const out: MailboxInfo[] = [];
    const specialUse = this.capabilities.has("SPECIAL-USE") && this.capabilities.has("LIST-EXTENDED");
    const command = `LIST "" ${astring(pattern)}${specialUse ? " RETURN (SPECIAL-USE)" : ""}`;
    await this.#run([command], (r) => {
      if (r.kind !== "data" || r.name !== "LIST") return false;
      out.push(parseList(r));
      return true;
    });
    return out;
  }

  /** STATUS of a mailbox that need not be selected; HIGHESTMODSEQ is asked only where CONDSTORE is offered. */
  async status(
    mailbox: string,
    items: readonly string[] = ["MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ"],
  ): Promise<MailboxStatus> {
    const wanted = items.map((i) => i.toUpperCase()).filter((i) =>
      i !== "HIGHESTMODSEQ" || this.capabilities.has("CONDSTORE") || this.capabilities.has("QRESYNC")
    );
    let result: MailboxStatus = {};
    await this.#run(["STATUS ", mailboxArg(mailbox), ` (${wanted.join(" ")})`], (r) => {
      if (r.kind !== "data" || r.name !== "STATUS") return false;
      const parsed = parseStatus(r);
      if (parsed.mailbox.toUpperCase() !== mailbox.toUpperCase() && parsed.mailbox !== mailbox) return false;
      result = parsed.status;
      return true;
    });
    return result;
  }

  /** SELECT (or EXAMINE with `readOnly`), optionally with CONDSTORE or QRESYNC. */
  async select(mailbox: string, options: SelectOptions = {}): Promise<SelectResult> {
    if (options.qresync && !this.enabled.has("QRESYNC")) await this.enable("QRESYNC");
    const result: SelectResult = {
      exists: 0,
      uidValidity: 0,
      uidNext: 0,
      flags: [],
      permanentFlags: [],
      readOnly: options.readOnly ?? false,
    };
    let param = "";
    if (options.qresync) {
      const { uidValidity, modSeq, knownUids } = options.qresync;
      param = ` (QRESYNC (${uidValidity} ${modSeq}${knownUids ? ` ${checkSequenceSet(knownUids)}` : ""}))`;
      result.changed = [];
    } else if (options.condstore) param = " (CONDSTORE)";
    const vanished: string[] = [];
    this.selected = null;
    const response = await this.#run(
      [options.readOnly ? "EXAMINE " : "SELECT ", mailboxArg(mailbox), param],
      (r) => {
        if (r.kind === "status") {
          const arg = r.code?.args[0];
          switch (r.code?.name) {
            case "UIDVALIDITY":
              result.uidValidity = valueNumber(arg);
              return true;
            case "UIDNEXT":
              result.uidNext = valueNumber(arg);
              return true;
            case "HIGHESTMODSEQ":
              result.highestModSeq = valueBigInt(arg);
              return true;
            case "PERMANENTFLAGS":
              result.permanentFlags = valueList(arg).map((f) => valueText(f) ?? "");
              return true;
          }
          return r.code?.name === "CLOSED" || r.code?.name === "UNSEEN" || r.code?.name === "NOMODSEQ";
        }
        if (r.name === "EXISTS" && r.number !== null) result.exists = r.number;
        else if (r.name === "FLAGS") result.flags = valueList(r.values[0]).map((f) => valueText(f) ?? "");
        else if (r.name === "VANISHED") vanished.push(parseVanished(r).uids);
        else if (r.name === "FETCH") result.changed?.push(parseFetch(r));
        else return r.name === "RECENT";
        return true;
      },
    );
    if (codeOf(response, "READ-ONLY")) result.readOnly = true;
    if (options.qresync) result.vanished = vanished.join(",");
    this.selected = mailbox;
    return result;
  }

  /** EXAMINE: SELECT read-only. */
  examine(mailbox: string, options: Omit<SelectOptions, "readOnly"> = {}): Promise<SelectResult> {
    return this.select(mailbox, { ...options, readOnly: true });
  }

  /**
   * UID FETCH streaming rows as they arrive. `items` is the raw item list, e.g.
   * `"(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)"`, or its items
   * as an array. All message addressing in this client is by UID. The command
   * starts when iteration starts; leaving the loop early drains the rest unseen.
   */
  fetch(uidSet: string, items: string | readonly string[], options: FetchOptions = {}): FetchStream {
    checkSequenceSet(uidSet);
    if (typeof items !== "string") items = `(${items.join(" ")})`;
    let modifiers = "";
    if (options.changedSince !== undefined) {
      modifiers = ` (CHANGEDSINCE ${options.changedSince}${options.vanished ? " VANISHED" : ""})`;
    }
    const command = `UID FETCH ${uidSet} ${items}${modifiers}`;
    const vanished: string[] = [];
    // deno-lint-ignore no-this-alias
    const client = this;
    return {
      vanished,
      [Symbol.asyncIterator](): AsyncIterator<FetchRow> {
        const rows: FetchRow[] = [];
        let wake: (() => void) | null = null;
        let drained: (() => void) | null = null;
        let finished = false;
        let failure: Error | null = null;
        let abandoned = false;
        let started: Promise<unknown> | null = null;
        const notify = () => {
          wake?.();
          wake = null;
        };
        const start = () => {
          started = client.#run([command], async (r) => {
            if (r.kind !== "data") return false;
            if (r.name === "VANISHED") {
              const v = parseVanished(r);
              if (!v.earlier) return false;
              vanished.push(v.uids);
              return true;
            }
            if (r.name !== "FETCH") return false;
            if (abandoned) return true;
            rows.push(parseFetch(r));
            notify();
            if (rows.length >= IMAP_LIMITS.fetchQueueRows) {
              await new Promise<void>((resolve) => (drained = resolve));
            }
            return true;
          }).then(
            () => {
              finished = true;
              notify();
            },
            (error: Error) => {
              failure = error;
              finished = true;
              notify();
            },
          );
        };
        return {
          async next(): Promise<IteratorResult<FetchRow>> {
            if (!started) start();
            for (;;) {
              const row = rows.shift();
              if (row) {
                if (rows.length < IMAP_LIMITS.fetchQueueRows / 2) {
                  drained?.();
                  drained = null;
                }
                return { value: row, done: false };
              }
              drained?.();
              drained = null;
              if (finished) {
                if (failure) throw failure;
                return { value: undefined, done: true };
              }
              await new Promise<void>((resolve) => (wake = resolve));
            }
          },
          async return(): Promise<IteratorResult<FetchRow>> {
            abandoned = true;
            rows.length = 0;
            drained?.();
            drained = null;
            await started;
            return { value: undefined, done: true };
          },
        };
      },
    };
  }

  /** All rows of a UID FETCH collected (for small sets). */
  async fetchAll(
    uidSet: string,
    items: string | readonly string[],
    options: FetchOptions = {},
  ): Promise<FetchRow[]> {
    const rows: FetchRow[] = [];
    for await (const row of this.fetch(uidSet, items, options)) rows.push(row);
    return rows;
  }

  /** One message's row by UID, or null when it does not exist. */
  async fetchOne(uid: number, items: string | readonly string[]): Promise<FetchRow | null> {
    const rows = await this.fetchAll(String(uid), items);
    return rows.find((row) => row.uid === uid) ?? null;
  }

  /**
   * Streams one body section (`""` for the whole message, "1.2", "HEADER", "TEXT")
   * without holding it in memory: resolves when the server starts sending the
   * literal, with its size and a stream of its bytes. `range` fetches a partial
   * (`BODY.PEEK[section]<offset.length>`); `binary` uses BINARY.PEEK (RFC 3516)
   * to get the decoded content. The stream must be read or cancelled: until then
   * the connection waits.
   */
  fetchBodyStream(
    uid: number,
    section: string,
    options: { range?: { offset: number; length: number }; binary?: boolean } = {},
  ): Promise<{ size: number; stream: ReadableStream<Uint8Array> }> {
    if (!/^[0-9A-Za-z.() \-]*$/.test(section)) throw new TypeError(`Invalid section "${section}"`);
    const kind = options.binary ? "BINARY" : "BODY";
    const partial = options.range ? `<${options.range.offset}.${options.range.length}>` : "";
    const command = `UID FETCH ${uid} (UID ${kind}.PEEK[${section}]${partial})`;
    const expected = `${kind}[${section.toUpperCase()}]`;
    const started = defer<{ size: number; stream: ReadableStream<Uint8Array> }>();
    let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
    let pulled: (() => void) | null = null;
    let cancelled = false;
    let streaming = false;
    this.#run([command], () => false, {
      shouldStream: (prefix) => !streaming && prefix.toUpperCase().includes(expected),
      onLiteralStart: (size) => {
        streaming = true;
        const stream = new ReadableStream<Uint8Array>({
          start: (c) => {
            controller = c;
          },
          pull: () => {
            pulled?.();
            pulled = null;
          },
          cancel: () => {
            cancelled = true;
            pulled?.();
            pulled = null;
          },
        }, { highWaterMark: IMAP_LIMITS.bodyStreamChunks });
        started.resolve({ size, stream });
      },
      onLiteralData: async (data) => {
        if (cancelled || !controller) return;
        controller.enqueue(data);
        if ((controller.desiredSize ?? 1) <= 0) await new Promise<void>((resolve) => (pulled = resolve));
      },
      onLiteralEnd: () => {
        if (!cancelled) controller?.close();
      },
    }).then(
      () => started.reject(new ImapError(`Message UID ${uid} has no section "${section}"`, "NO", null)),
      (error: Error) => {
        started.reject(error);
        if (!cancelled && controller) {
          try {
            controller.error(error);
          } catch { /* already closed */ }
        }
      },
    );
    return started.promise;
  }

  /**
   * UID SEARCH (ESEARCH `RETURN (ALL)` where offered). `criteria` is raw search
   * syntax (`UNSEEN SINCE 1-Jan-2024`) or a token list (`["HEADER", "Message-ID", id]`)
   * whose items are quoted or sent as literals as needed; non-ASCII tokens add
   * `CHARSET UTF-8`.
   */
  async search(criteria: string | readonly string[]): Promise<number[]> {
    const esearch = this.capabilities.has("ESEARCH");
    const parts: CommandPart[] = [`UID SEARCH ${esearch ? "RETURN (ALL) " : ""}`];
    if (typeof criteria === "string") parts.push(criteria);
    else {
      if (criteria.some((token) => /[\u0080-\uffff]/.test(token))) parts.push("CHARSET UTF-8 ");
      criteria.forEach((token, i) => parts.push(...(i > 0 ? [" "] : []), astring(token)));
    }
    let uids: number[] = [];
    await this.#run(parts, (r) => {
      if (r.kind !== "data") return false;
      if (r.name === "ESEARCH") {
        uids = expandSequenceSet(parseEsearch(r).items.get("ALL") ?? "");
        return true;
      }
      if (r.name !== "SEARCH") return false;
      for (const v of r.values) if (typeof v === "string" && /^\d+$/.test(v)) uids.push(Number(v));
      return true;
    });
    return uids;
  }

  /**
   * UID STORE, e.g. `store("1:3", "+FLAGS.SILENT", ["\\Seen"])`. With
   * `unchangedSince` (CONDSTORE) messages changed meanwhile are reported in
   * `modified` instead of being changed.
   */
  async store(
    uidSet: string,
    operation: "FLAGS" | "+FLAGS" | "-FLAGS" | "FLAGS.SILENT" | "+FLAGS.SILENT" | "-FLAGS.SILENT",
    flags: readonly string[],
    options: { unchangedSince?: bigint | number } = {},
  ): Promise<{ rows: FetchRow[]; modified: string | null }> {
    const rows: FetchRow[] = [];
    const condition = options.unchangedSince !== undefined
      ? ` (UNCHANGEDSINCE ${options.unchangedSince})`
      : "";
    const response = await this.#run(
      [`UID STORE ${checkSequenceSet(uidSet)}${condition} ${operation} ${flagList(flags)}`],
      (r) => {
        if (r.kind !== "data" || r.name !== "FETCH") return false;
        rows.push(parseFetch(r));
        return true;
      },
    );
    const modified = codeOf(response, "MODIFIED");
    return { rows, modified: modified ? valueText(modified.args[0]) : null };
  }

  /** UID COPY; returns COPYUID data where the server has UIDPLUS. */
  async copy(uidSet: string, mailbox: string): Promise<CopyResult | null> {
    const response = await this.#run([`UID COPY ${checkSequenceSet(uidSet)} `, mailboxArg(mailbox)]);
    return parseCopyUid(codeOf(response, "COPYUID"));
  }

  /** UID MOVE (RFC 6851), or COPY + STORE \Deleted + UID EXPUNGE where MOVE is missing; returns COPYUID data. */
  async move(uidSet: string, mailbox: string): Promise<CopyResult | null> {
    checkSequenceSet(uidSet);
    if (!this.capabilities.has("MOVE")) {
      const copied = await this.copy(uidSet, mailbox);
      await this.store(uidSet, "+FLAGS.SILENT", ["\\Deleted"]);
      await this.expunge(uidSet);
      return copied;
    }
    let copied: CopyResult | null = null;
    const response = await this.#run([`UID MOVE ${uidSet} `, mailboxArg(mailbox)], (r) => {
      if (r.kind === "status" && r.code?.name === "COPYUID") {
        copied = parseCopyUid(r.code);
        return true;
      }
      return false;
    });
    return copied ?? parseCopyUid(codeOf(response, "COPYUID"));
  }

  /**
   * Removes messages marked \Deleted: only those of `uidSet` with UIDPLUS (UID
   * EXPUNGE); without UIDPLUS plain EXPUNGE removes every \Deleted message of
   * the mailbox.
   */
  async expunge(uidSet?: string): Promise<void> {
    if (uidSet !== undefined && this.capabilities.has("UIDPLUS")) {
      await this.#run([`UID EXPUNGE ${checkSequenceSet(uidSet)}`]);
    } else await this.#run(["EXPUNGE"]);
  }

  /** APPEND a message; returns APPENDUID data (RFC 4315) where offered. */
  async append(
    mailbox: string,
    message: Uint8Array,
    flags: readonly string[] = [],
    date?: Date,
  ): Promise<{ uidValidity: number; uid: number } | null> {
    const parts: CommandPart[] = ["APPEND ", mailboxArg(mailbox), " "];
    if (flags.length > 0) parts.push(`${flagList(flags)} `);
    if (date) parts.push(`"${formatInternalDate(date)}" `);
    parts.push({ literal: message });
    const response = await this.#run(parts);
    const code = codeOf(response, "APPENDUID");
    if (!code) return null;
    return { uidValidity: valueNumber(code.args[0]), uid: valueNumber(code.args[1]) };
  }

  /** CREATE a mailbox (Unicode name); `specialUse` (RFC 6154 CREATE-SPECIAL-USE) e.g. "\\Sent". */
  async create(mailbox: string, specialUse?: string): Promise<void> {
    const use = specialUse ? ` (USE (${flagList([specialUse]).slice(1, -1)}))` : "";
    await this.#run(["CREATE ", mailboxArg(mailbox), use]);
  }

  /** RENAME a mailbox. */
  async rename(from: string, to: string): Promise<void> {
    await this.#run(["RENAME ", mailboxArg(from), " ", mailboxArg(to)]);
  }

  /** DELETE a mailbox. */
  async delete(mailbox: string): Promise<void> {
    await this.#run(["DELETE ", mailboxArg(mailbox)]);
  }

  /** SUBSCRIBE (or UNSUBSCRIBE with `false`). */
  async subscribe(mailbox: string, subscribed = true): Promise<void> {
    await this.#run([subscribed ? "SUBSCRIBE " : "UNSUBSCRIBE ", mailboxArg(mailbox)]);
  }

  /** UNSUBSCRIBE. */
  unsubscribe(mailbox: string): Promise<void> {
    return this.subscribe(mailbox, false);
  }

  /**
   * NOTIFY (RFC 5465): `spec` is what follows the command name, e.g.
   * `SET (selected (MessageNew (UID FLAGS) MessageExpunge)) (personal (MessageNew MessageExpunge))`
   * or `NONE`; "SET " is added when missing. Events arrive through {@link onUntagged}.
   */
  async notify(spec: string): Promise<void> {
    const text = /^(SET|NONE)\b/i.test(spec.trim()) ? spec.trim() : `SET ${spec.trim()}`;
    await this.#run([`NOTIFY ${text}`]);
  }

  /** NOOP: lets the server report pending changes (through {@link onUntagged}). */
  async noop(): Promise<void> {
    await this.#run(["NOOP"]);
  }

  /** UNSELECT (RFC 3691) or CLOSE where missing (which expunges). */
  async unselect(): Promise<void> {
    await this.#run([this.capabilities.has("UNSELECT") ? "UNSELECT" : "CLOSE"]);
    this.selected = null;
  }

  /**
   * Starts IDLE (RFC 2177); untagged updates arrive through {@link onUntagged}.
   * Any other command of this client ends the IDLE first (DONE) and runs after it;
   * `ended` settles then, and the caller re-enters IDLE when it wants to. Servers
   * end IDLE after about 30 minutes, so watchers should restart it sooner.
   */
  async idle(): Promise<IdleHandle> {
    const release = await this.#acquire();
    const tag = this.#nextTag();
    const continued = defer<string>();
    const finished = defer<StatusResponse>();
    const pending: Pending = { tag, idle: true, continuation: continued, done: finished };
    this.#current = pending;
    let doneSent = false;
    const stop = () => {
      if (doneSent || this.#error) return;
      doneSent = true;
      this.#write(encoder.encode("DONE\r\n")).catch((error) => this.#fail(error));
    };
    const ended = finished.promise.then(() => {}, (error) => {
      if (!(error instanceof ImapConnectionError)) throw error;
    }).finally(() => {
      if (this.#current === pending) this.#current = null;
      this.#idleStop = null;
      release();
    });
    try {
      await this.#write(encoder.encode(`${tag} IDLE\r\n`));
      await Promise.race([continued.promise, finished.promise.then((r) => this.#check(r))]);
    } catch (error) {
      await ended.catch(() => {});
      throw error;
    }
    pending.continuation = undefined;
    this.#idleStop = stop;
    if (this.#waiting > 0) stop();
    return {
      done: async () => {
        stop();
        await ended;
      },
      ended,
    };
  }

  /** LOGOUT and close; never throws. */
  async logout(): Promise<void> {
    if (this.#error) return;
    this.#loggingOut = true;
    try {
      await withTimeout(this.#run(["LOGOUT"]), this.#timeoutMs, "LOGOUT timed out");
    } catch { /* the connection goes away either way */ }
    this.close();
  }

  /** Closes the socket at once; pending commands fail with ImapConnectionError. */
  close(): void {
    this.#fail(null);
  }

  #nextTag(): string {
    return `A${++this.#tagCounter}`;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  #setCapabilities(values: readonly unknown[]): void {
    this.capabilities = new Set(values.map((v) => String(v).toUpperCase()));
  }

  #capabilityCode(response: StatusResponse): boolean {
    if (response.code?.name !== "CAPABILITY") return false;
    this.#setCapabilities(response.code.args);
    return true;
  }

  async #acquire(): Promise<() => void> {
    if (this.#error) throw this.#error;
    this.#waiting++;
    this.#idleStop?.();
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const previous = this.#chain;
    this.#chain = previous.then(() => next);
    await previous;
    this.#waiting--;
    if (this.#error) {
      release();
      throw this.#error;
    }
    return release;
  }

  #check(response: StatusResponse): StatusResponse {
    if (response.status === "OK") return response;
    const code = response.code?.name ?? null;
    throw new ImapError(
      `Server answered ${response.status}${code ? ` [${code}]` : ""}: "${response.text}"`,
      response.status === "BAD" ? "BAD" : "NO",
      code,
      response,
    );
  }

  /** Runs one tagged command; literals go as LITERAL+ where offered, else after the server's "+". */
  async #run(
    parts: CommandPart[],
    onUntagged?: Pending["onUntagged"],
    hooks: Omit<Pending, "tag" | "done" | "onUntagged"> = {},
  ): Promise<StatusResponse> {
    const release = await this.#acquire();
    try {
      const tag = this.#nextTag();
      const finished = defer<StatusResponse>();
      finished.promise.catch(() => {});
      const pending: Pending = { ...hooks, tag, done: finished };
      if (onUntagged) pending.onUntagged = onUntagged;
      this.#current = pending;
      this.#armTimer();
      const literalPlus = this.capabilities.has("LITERAL+");
      let line = `${tag} `;
      for (const part of parts) {
        if (typeof part === "string") {
          line += part;
          continue;
        }
        if ("continuationText" in part) {
          // SASL response after a "+" (AUTHENTICATE without SASL-IR).
          await this.#write(encoder.encode(`${line}\r\n`));
          await this.#awaitContinuation(pending);
          line = part.continuationText;
          continue;
        }
        const size = part.literal.length;
        if (literalPlus) {
          await this.#write(encoder.encode(`${line}{${size}+}\r\n`));
        } else {
          await this.#write(encoder.encode(`${line}{${size}}\r\n`));
          await this.#awaitContinuation(pending);
        }
        await this.#write(part.literal);
        line = "";
      }
      await this.#write(encoder.encode(`${line}\r\n`));
      return this.#check(await finished.promise);
    } finally {
      this.#current = null;
      clearTimeout(this.#timer);
      release();
    }
  }

  async #awaitContinuation(pending: Pending): Promise<void> {
    const continued = defer<string>();
    pending.continuation = continued;
    await Promise.race([continued.promise, pending.done.promise.then((r) => this.#check(r))]);
    pending.continuation = undefined;
  }

  /**
   * Arms the inactivity timer of the running command (not IDLE): it fires when
   * the server sends nothing for `timeoutMs`. Reset on every read; off while the
   * pump waits for a slow consumer, since then the server is not the one late.
   */
  #armTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#current || this.#current.idle || this.#error) return;
    this.#timer = setTimeout(() => {
      this.#fail(new ImapConnectionError(`IMAP server did not answer within ${this.#timeoutMs} ms`));
    }, this.#timeoutMs);
  }

  /** The read loop: socket → assembler → dispatch, awaiting slow consumers (backpressure). */
  async #pump(): Promise<void> {
    const buffer = new Uint8Array(IMAP_LIMITS.readChunkBytes);
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        clearTimeout(this.#timer);
        if (n === null) {
          throw new ImapConnectionError(
            this.#bye ? `Server closed the connection: "${this.#bye}"` : "Server closed the connection",
          );
        }
        for (const event of this.#assembler.push(buffer.subarray(0, n))) await this.#dispatch(event);
        this.#armTimer();
      }
    } catch (error) {
      if (this.#error) return;
      if (this.#loggingOut && this.#bye !== null) this.#fail(null);
      else {
        this.#fail(
          error instanceof ImapConnectionError
            ? error
            : new ImapConnectionError(`IMAP connection failed: ${(error as Error).message}`, error),
        );
      }
    }
  }

  async #dispatch(event: AssemblerEvent): Promise<void> {
    const current = this.#current;
    if (event.kind === "literal-start") return current?.onLiteralStart?.(event.size);
    if (event.kind === "literal-data") return await current?.onLiteralData?.(event.data);
    if (event.kind === "literal-end") return current?.onLiteralEnd?.();
    const response = parseResponse(event.line);
    if (response.kind === "continuation") {
      current?.continuation?.resolve(response.text);
      return;
    }
    if (response.kind === "status" && response.tag !== "*") {
      if (current && response.tag === current.tag) {
        this.#capabilityCode(response);
        current.done.resolve(response);
      }
      return;
    }
    if (response.kind === "status") {
      if (response.status === "BYE") this.#bye = response.text;
      this.#capabilityCode(response);
    } else if (response.name === "CAPABILITY") {
      this.#setCapabilities(response.values);
      return;
    }
    if (current?.onUntagged && await current.onUntagged(response)) return;
    this.#emit(response);
  }

  #emit(response: DataResponse | StatusResponse): void {
    if (this.#listeners.size === 0) return;
    let event: UntaggedEvent = { type: "other", response };
    if (response.kind === "data") {
      if (response.name === "EXISTS" && response.number !== null) {
        event = { type: "exists", count: response.number };
      } else if (response.name === "EXPUNGE" && response.number !== null) {
        event = { type: "expunge", seq: response.number };
      } else if (response.name === "VANISHED") event = { type: "vanished", ...parseVanished(response) };
      else if (response.name === "FETCH") event = { type: "fetch", row: parseFetch(response) };
      else if (response.name === "STATUS") event = { type: "status", ...parseStatus(response) };
      else if (response.name === "LIST") event = { type: "list", mailbox: parseList(response) };
    }
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch { /* a listener's bug must not kill the connection */ }
    }
  }

  #fail(error: ImapConnectionError | null): void {
    if (this.#error) return;
    this.#error = error ?? new ImapConnectionError("Connection closed");
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    this.#current?.continuation?.reject(this.#error);
    this.#current?.done.reject(this.#error);
    this.#idleStop = null;
    clearTimeout(this.#timer);
    this.#resolveClosed();
    for (const listener of this.#closeListeners) {
      try {
        listener(error);
      } catch { /* ignore */ }
    }
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ImapConnectionError(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
