import { PUSH_LIMITS } from "./limits.ts";

/** What the guard says about a device's newest request. */
export type StormVerdict = "ok" | "slow" | "throttle";

/** Thresholds of the storm guard (defaults from {@link PUSH_LIMITS}). */
export interface StormOptions {
  windowMs?: number;
  slowAfter?: number;
  throttleAfter?: number;
  maxDevices?: number;
  holdMs?: number;
}

interface Window {
  start: number;
  count: number;
}

/**
 * Detects devices stuck in request loops (Outlook is known to re-Ping once a
 * second when it dislikes an answer) with one fixed window counter per
 * device: two numbers, no timestamps kept. A device over `slowAfter` is
 * slowed (its answers are held), one over `throttleAfter` is refused with
 * HTTP 503 + X-MS-ASThrottle until its window ends.
 */
export class StormGuard {
  readonly #windows = new Map<string, Window>();
  readonly #windowMs: number;
  readonly #slowAfter: number;
  readonly #throttleAfter: number;
  readonly #maxDevices: number;
  /** How long a slowed device's requests are held before any answer. */
  readonly holdMs: number;

  constructor(options: StormOptions = {}) {
    this.#windowMs = options.windowMs ?? PUSH_LIMITS.stormWindowMs;
    this.#slowAfter = options.slowAfter ?? PUSH_LIMITS.stormSlowAfter;
    this.#throttleAfter = options.throttleAfter ?? PUSH_LIMITS.stormThrottleAfter;
    this.#maxDevices = options.maxDevices ?? PUSH_LIMITS.stormTrackedDevices;
    this.holdMs = options.holdMs ?? PUSH_LIMITS.stormHoldMs;
  }

  /** Counts one request of `device` and judges it. */
  note(device: string, now: number): StormVerdict {
    let window = this.#windows.get(device);
    if (!window || now - window.start >= this.#windowMs) {
      if (window) this.#windows.delete(device);
      window = { start: now, count: 0 };
      if (this.#windows.size >= this.#maxDevices) {
        // Map order is insertion order: the first entry is the oldest window.
        const oldest = this.#windows.keys().next().value;
        if (oldest !== undefined) this.#windows.delete(oldest);
      }
      this.#windows.set(device, window);
    }
    window.count++;
    if (window.count > this.#throttleAfter) return "throttle";
    if (window.count > this.#slowAfter) return "slow";
    return "ok";
  }

  /** Seconds until a throttled device's window ends (for Retry-After). */
  retryAfterSeconds(device: string, now: number): number {
    const window = this.#windows.get(device);
    if (!window) return 0;
    return Math.max(1, Math.ceil((window.start + this.#windowMs - now) / 1000));
  }

  /** Devices currently tracked. */
  get size(): number {
    return this.#windows.size;
  }
}
