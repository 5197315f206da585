/**
 * Per-device protocol trace: when an admin switches tracing on for a device,
 * its requests and responses are decoded to XML with passwords, bodies and
 * attachment data redacted, and stored for the trace viewer and a support
 * download. Devices without tracing cost one Map lookup per request.
 *
 * @module
 */
import type { TraceEntry, TraceRepository } from "../store/traces.ts";
import { toXml } from "../wbxml/mod.ts";
import { RecentRequests } from "./recent_requests.ts";

/** Longest tracing period an admin can ask for: traces fill the flash, so they end on their own. */
export const MAX_TRACE_MS = 24 * 60 * 60 * 1000;

/** One exchange as the HTTP layer saw it. */
export interface TracedExchange {
  command: string;
  query: string;
  status: number;
  ms: number;
  requestType: string;
  request: Uint8Array;
  responseType: string;
  response: Uint8Array;
}

const WBXML_TYPES = new Set(["application/vnd.ms-sync.wbxml", "application/vnd.ms-sync"]);
/** Text bodies longer than this are cut in a trace (an error page is short; a MIME body is redacted anyway). */
const MAX_TEXT_CHARS = 4096;

/**
 * Renders one body for a trace: WBXML decoded and redacted; MIME (SendMail
 * in 14.1 and earlier, GetAttachment) reduced to its size, since it is the
 * user's content; short text kept.
 */
export function renderTraceBody(contentType: string, bytes: Uint8Array): string {
  if (bytes.length === 0) return "(empty)";
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  if (WBXML_TYPES.has(type)) {
    try {
      return toXml(bytes, { redact: true });
    } catch (error) {
      return `(${bytes.length} bytes of WBXML that cannot be decoded: ${(error as Error).message})`;
    }
  }
  if (type.startsWith("text/") && !type.includes("calendar")) {
    const text = new TextDecoder().decode(bytes);
    return text.length > MAX_TEXT_CHARS
      ? `${text.slice(0, MAX_TEXT_CHARS)}... (${bytes.length} bytes)`
      : text;
  }
  return `(${bytes.length} bytes of ${type || "unknown type"}, redacted)`;
}

/**
 * Decides which devices are traced and records their exchanges. The set of
 * traced devices is kept in memory (loaded once, updated on start/stop), so
 * the Ping path of untraced devices reads nothing from SQLite.
 */
export class ProtocolTracer {
  #active: Map<number, number>;

  constructor(private readonly repo: TraceRepository, private readonly now: () => number = Date.now) {
    this.#active = repo.active(now());
  }

  /** Whether requests of this device (devices.id) are being traced now. */
  isTracing(device: number): boolean {
    const until = this.#active.get(device);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.#active.delete(device);
    return false;
  }

  /** When tracing of a device ends, if it is on. */
  tracingUntil(device: number): number | undefined {
    return this.isTracing(device) ? this.#active.get(device) : undefined;
  }

  /** Traces a device for `durationMs` (at most {@link MAX_TRACE_MS}). */
  start(device: number, durationMs: number): number {
    if (!(durationMs > 0)) throw new RangeError(`Trace duration '${durationMs}' must be positive`);
    const until = this.now() + Math.min(durationMs, MAX_TRACE_MS);
    this.repo.start(device, until);
    this.#active.set(device, until);
    return until;
  }

  /** Stops tracing a device. */
  stop(device: number): void {
    this.repo.stop(device);
    this.#active.delete(device);
  }

  /** Records an exchange of a traced device (ignored when the device is not traced). */
  record(device: number, exchange: TracedExchange): void {
    if (!this.isTracing(device)) return;
    this.repo.add({
      device,
      at: this.now(),
      command: exchange.command,
      query: exchange.query,
      status: exchange.status,
      ms: exchange.ms,
      request: renderTraceBody(exchange.requestType, exchange.request),
      response: renderTraceBody(exchange.responseType, exchange.response),
    });
  }

  /** Entries of a device, oldest first. */
  entries(device: number): TraceEntry[] {
    return this.repo.list(device);
  }

  /** The trace of a device as one text file for support. */
  export(device: number, label: string): string {
    const lines = [
      `# Pushbridge protocol trace of ${label}`,
      "# Passwords, bodies and attachments are redacted",
      "",
    ];
    for (const e of this.entries(device)) {
      lines.push(
        `=== ${new Date(e.at).toISOString()} ${e.command} ${e.query} -> HTTP ${e.status} in ${e.ms} ms`,
        "--- request",
        e.request,
        "--- response",
        e.response,
        "",
      );
    }
    return lines.join("\n");
  }
}

/** Reads a response body fully (a teed copy of what the client receives). */
export async function readAll(stream: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  if (!stream) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    total += chunk.length;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** One minute of EAS traffic, for the dashboard chart. */
export interface TrafficMinute {
  /** Start of the minute (ms since epoch). */
  at: number;
  requests: number;
  /** Ping requests (held; their duration is the hold, not a latency). */
  pings: number;
  /** Answers with HTTP status 400 and above. */
  errors: number;
  /** Slowest non-Ping answer in the minute, in ms. */
  maxMs: number;
  /** Sum of non-Ping answer times, for the mean. */
  totalMs: number;
}

/** Minutes kept: the dashboard shows the last hour. */
const TRAFFIC_MINUTES = 60;

/**
 * Counts EAS requests per minute in memory (a ring of 60 small records) and
 * keeps each device's last requests for the device page ({@link RecentRequests}):
 * nothing is written to storage, so the Ping path stays write-free.
 */
export class TrafficMeter {
  readonly #minutes: TrafficMinute[] = [];
  /** The last requests of each recently active device. */
  readonly recent: RecentRequests;

  constructor(private readonly now: () => number = Date.now) {
    this.recent = new RecentRequests(now);
  }

  /**
   * Counts one answered request; with the device (devices.id) known, it is
   * also kept among that device's last requests.
   */
  count(command: string, status: number, ms: number, device?: number): void {
    if (device !== undefined) this.recent.record(device, command, status, ms);
    const at = Math.floor(this.now() / 60_000) * 60_000;
    let last = this.#minutes[this.#minutes.length - 1];
    if (!last || last.at !== at) {
      last = { at, requests: 0, pings: 0, errors: 0, maxMs: 0, totalMs: 0 };
      this.#minutes.push(last);
      while (this.#minutes.length > TRAFFIC_MINUTES) this.#minutes.shift();
    }
    last.requests++;
    if (status >= 400) last.errors++;
    if (command === "Ping") last.pings++;
    else {
      last.maxMs = Math.max(last.maxMs, ms);
      last.totalMs += ms;
    }
  }

  /** The last hour, one record per minute (minutes without traffic included as zeros), oldest first. */
  lastHour(): TrafficMinute[] {
    const end = Math.floor(this.now() / 60_000) * 60_000;
    const byAt = new Map(this.#minutes.map((m) => [m.at, m]));
    const out: TrafficMinute[] = [];
    for (let i = TRAFFIC_MINUTES - 1; i >= 0; i--) {
      const at = end - i * 60_000;
      out.push(byAt.get(at) ?? { at, requests: 0, pings: 0, errors: 0, maxMs: 0, totalMs: 0 });
    }
    return out;
  }
}
