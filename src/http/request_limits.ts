import { LIMITS } from "../config/limits.ts";
import { EasHttpError } from "../eas/protocol/errors.ts";
import { concatBytes } from "./_bytes.ts";

/** How slow a request body may arrive (LIMITS.bodyGraceMs, LIMITS.bodyMinBytesPerSecond). */
export interface BodyTimeouts {
  graceMs: number;
  minBytesPerSecond: number;
}

/** Bytes a chunked body is assumed still to send: its deadline moves on only as data arrives. */
const CHUNKED_ALLOWANCE = 16 * 1024;

/** The defaults from LIMITS. */
export const BODY_TIMEOUTS: BodyTimeouts = {
  graceMs: LIMITS.bodyGraceMs,
  minBytesPerSecond: LIMITS.bodyMinBytesPerSecond,
};

/**
 * Reads a request body, refusing it before buffering when it is larger than
 * allowed (413) and cutting off a body that arrives slower than the minimum
 * rate after the grace period (408): the deadline is grace + expected bytes /
 * rate, where expected is the declared Content-Length or, for a chunked body,
 * what arrived so far plus CHUNKED_ALLOWANCE, so a slowloris sender is cut off
 * after about the grace period whatever it declares.
 */
export async function readLimitedBody(
  request: Request,
  maxBytes: number,
  timeouts: BodyTimeouts = BODY_TIMEOUTS,
): Promise<Uint8Array> {
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > maxBytes) {
    throw new EasHttpError(413, `Request body of ${declared} bytes exceeds ${maxBytes}`);
  }
  const started = Date.now();
  const tooSlow = (total: number) =>
    new EasHttpError(
      408,
      `Request body arrived too slowly (${total} bytes in ${Date.now() - started} ms)`,
      { Connection: "close" },
    );
  if (Number.isFinite(declared) && declared > 0 && declared <= WHOLE_BODY_BYTES) {
    // A small declared body (every Ping, most Syncs) is read whole: no reader object stays
    // behind with the request while it is held. The transport ends the body at Content-Length.
    const deadline = started + timeouts.graceMs + (declared / timeouts.minBytesPerSecond) * 1000;
    const whole = await before(request.arrayBuffer(), deadline).catch(unreadable);
    if (whole === "timeout") throw tooSlow(0);
    return new Uint8Array(whole);
  }
  // Checked after the small-body path: reading `request.body` turns a body given as bytes into a stream.
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const expected = Number.isFinite(declared) && declared > 0 ? declared : total + CHUNKED_ALLOWANCE;
      const deadline = started + timeouts.graceMs + (expected / timeouts.minBytesPerSecond) * 1000;
      const chunk = await before(reader.read(), deadline).catch(unreadable);
      if (chunk === "timeout") throw tooSlow(total);
      if (chunk.done) break;
      total += chunk.value.length;
      if (total > maxBytes) throw new EasHttpError(413, `Request body exceeds ${maxBytes} bytes`);
      chunks.push(chunk.value);
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    throw error;
  }
  return chunks.length === 0 ? new Uint8Array(0) : concatBytes(chunks);
}

/** Declared bodies up to this size are read with one arrayBuffer() call. */
const WHOLE_BODY_BYTES = 64 * 1024;

/** A body the transport could not deliver (client gone, bad chunk framing): 400, and the connection ends. */
function unreadable(error: unknown): never {
  throw new EasHttpError(
    400,
    `Request body could not be read (${error instanceof Error ? error.message : String(error)})`,
    { Connection: "close" },
  );
}

async function before<T>(work: Promise<T>, deadline: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The 431 answer when the request headers exceed LIMITS.maxHeaderBytes or LIMITS.maxHeaderFields. */
export function checkHeaderSize(headers: Headers): void {
  let fields = 0;
  let bytes = 0;
  for (const [name, value] of headers) {
    fields++;
    bytes += name.length + value.length + 4;
  }
  if (fields > LIMITS.maxHeaderFields || bytes > LIMITS.maxHeaderBytes) {
    throw new EasHttpError(431, `Request headers too large (${fields} fields, ${bytes} bytes)`);
  }
}

/**
 * Counts requests in flight per key (a device, a client address) and refuses
 * one above the cap with 503 + Retry-After, which phones honour without
 * prompting the user. Memory: one map entry per key with requests in flight.
 */
export class InFlightLimiter {
  readonly #counts = new Map<string, number>();
  constructor(readonly cap: number, readonly what: string) {}

  /** Takes a slot or throws EasHttpError(503); call the returned release exactly once. */
  acquire(key: string): () => void {
    const now = this.#counts.get(key) ?? 0;
    if (now >= this.cap) {
      throw new EasHttpError(503, `Too many requests in flight for this ${this.what} (${now})`, {
        "Retry-After": String(LIMITS.busyRetryAfterSeconds),
      });
    }
    this.#counts.set(key, now + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#counts.get(key) ?? 1) - 1;
      if (left <= 0) this.#counts.delete(key);
      else this.#counts.set(key, left);
    };
  }

  /** Requests in flight for a key (tests, dashboard). */
  count(key: string): number {
    return this.#counts.get(key) ?? 0;
  }
}
