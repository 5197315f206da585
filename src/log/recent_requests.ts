/**
 * The last few requests of each device, always on and in memory only: the
 * device page shows them without protocol tracing, and the Ping path stays
 * write-free (nothing here touches SQLite).
 *
 * Memory is bounded twice: each device keeps a ring of
 * {@link RECENT_PER_DEVICE} entries packed into one Float64Array (two
 * numbers per entry, 160 bytes for ten), and only the
 * {@link RECENT_MAX_DEVICES} most recently active devices are kept (a Map in
 * least-recently-active order; the oldest is dropped). Measured with full
 * rings: about 350 bytes a device, so 3.5 MB for 10,000 devices holding
 * Pings, whatever the request rate (tests/log/recent_requests.test.ts).
 *
 * @module
 */

/** Entries kept per device. */
export const RECENT_PER_DEVICE = 10;
/** Devices kept: the most recently active ones (a box serves a small office; this is far above it). */
export const RECENT_MAX_DEVICES = 20_000;
/**
 * Distinct command names remembered. The name comes from the request's Cmd
 * parameter, which a client chooses freely, so the table is capped and
 * anything past it is recorded as {@link OTHER_COMMAND}.
 */
const MAX_COMMAND_NAMES = 64;
/** How an unknown command name past the cap is shown. */
export const OTHER_COMMAND = "(other)";

/** One recorded request. */
export interface RecentRequest {
  /** When it was answered (ms since epoch). */
  at: number;
  command: string;
  /** HTTP status of the answer. */
  status: number;
  /** Time to the answer in ms (for Ping: how long it was held). */
  ms: number;
}

/*
 * Packing: slot i of a device's ring holds `at` in buf[2i] and
 * `ms * 2^16 + status * 2^6 + command` in buf[2i + 1]. Status is below 1024
 * (10 bits), the command index below 64 (6 bits) and ms is capped at 2^36
 * (about 795 days), so the packed value stays below 2^53 and is exact.
 */
const STATUS_SHIFT = 2 ** 6;
const MS_SHIFT = 2 ** 16;
const MAX_MS = 2 ** 36 - 1;

interface Ring {
  buf: Float64Array;
  /** Next slot to write. */
  next: number;
  /** Slots filled (up to RECENT_PER_DEVICE). */
  size: number;
}

/** Keeps the last requests of the most recently active devices. */
export class RecentRequests {
  readonly #rings = new Map<number, Ring>();
  readonly #names: string[] = [OTHER_COMMAND];
  readonly #index = new Map<string, number>([[OTHER_COMMAND, 0]]);

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxDevices = RECENT_MAX_DEVICES,
    private readonly perDevice = RECENT_PER_DEVICE,
  ) {}

  /** Records an answered request of a device (devices.id). */
  record(device: number, command: string, status: number, ms: number): void {
    let ring = this.#rings.get(device);
    if (ring) {
      // Re-inserting moves the device to the end: the Map's order is least recently active first.
      this.#rings.delete(device);
    } else {
      ring = { buf: new Float64Array(this.perDevice * 2), next: 0, size: 0 };
      if (this.#rings.size >= this.maxDevices) {
        const oldest = this.#rings.keys().next().value;
        if (oldest !== undefined) this.#rings.delete(oldest);
      }
    }
    this.#rings.set(device, ring);
    const slot = ring.next * 2;
    const clampedMs = Math.min(MAX_MS, Math.max(0, Math.round(ms)));
    const clampedStatus = Math.min(1023, Math.max(0, Math.trunc(status)));
    ring.buf[slot] = this.now();
    ring.buf[slot + 1] = clampedMs * MS_SHIFT + clampedStatus * STATUS_SHIFT + this.#commandIndex(command);
    ring.next = (ring.next + 1) % this.perDevice;
    ring.size = Math.min(ring.size + 1, this.perDevice);
  }

  /** The recorded requests of a device, newest first. */
  of(device: number): RecentRequest[] {
    const ring = this.#rings.get(device);
    if (!ring) return [];
    const out: RecentRequest[] = [];
    for (let i = 1; i <= ring.size; i++) {
      const slot = ((ring.next - i + this.perDevice) % this.perDevice) * 2;
      const packed = ring.buf[slot + 1]!;
      const ms = Math.floor(packed / MS_SHIFT);
      const rest = packed - ms * MS_SHIFT;
      out.push({
        at: ring.buf[slot]!,
        command: this.#names[rest % STATUS_SHIFT] ?? OTHER_COMMAND,
        status: Math.floor(rest / STATUS_SHIFT),
        ms,
      });
    }
    return out;
  }

  /** Devices currently remembered. */
  get devices(): number {
    return this.#rings.size;
  }

  /** Forgets a device (its partnership was deleted). */
  forget(device: number): void {
    this.#rings.delete(device);
  }

  #commandIndex(command: string): number {
    const known = this.#index.get(command);
    if (known !== undefined) return known;
    if (this.#names.length >= MAX_COMMAND_NAMES) return 0;
    this.#names.push(command);
    this.#index.set(command, this.#names.length - 1);
    return this.#names.length - 1;
  }
}
