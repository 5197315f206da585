import { PUSH_LIMITS } from "./limits.ts";

/** Push latency of one minute, for the status page. Latency fields are absent when nothing was pushed. */
export interface PushLatencyMinute {
  /** Start of the minute (ms since epoch, in the recorder's clock). */
  at: number;
  /** Held requests (Ping, hanging Sync) answered because of a change: one latency sample each. */
  pushes: number;
  /**
   * Requests answered at once when they arrived, for a change the box noticed
   * before they came (while the phone was between requests). Counted, not
   * timed: the wait was the phone's, not the box's.
   */
  caughtUp: number;
  /** Median latency in ms (from the bucket's sketch, see {@link PushLatency}). */
  p50Ms?: number;
  /** 99th percentile latency in ms. */
  p99Ms?: number;
  /** Slowest push of the minute in ms (exact). */
  maxMs?: number;
}

/** The last hour: one entry per minute, oldest first, and the hour as a whole. */
export interface PushLatencyHour {
  minutes: PushLatencyMinute[];
  pushes: number;
  caughtUp: number;
  p50Ms?: number;
  p99Ms?: number;
  maxMs?: number;
}

/** Options of a {@link PushLatency}; defaults from {@link PUSH_LIMITS}. */
export interface PushLatencyOptions {
  /** Minutes kept (the ring's length). */
  minutes?: number;
  now?: () => number;
}

const MINUTE_MS = 60_000;
/** Histogram bins per doubling of the latency: bin edges 2^(1/4) apart, so an estimate is within 9%. */
const BINS_PER_OCTAVE = 4;
/** Octaves above 1 ms: 2^22 ms is 70 minutes, longer than any held request. */
const OCTAVES = 22;
/** Bin 0 holds latencies under 1 ms; the last bin also takes anything longer than 2^22 ms. */
const BINS = 1 + BINS_PER_OCTAVE * OCTAVES;

/**
 * Push latency of the last hour in a fixed ring of per-minute buckets, for the
 * status page. Each bucket keeps a count, the exact minimum and maximum and a
 * log-scale histogram (4 bins per doubling from 1 ms to 70 min); percentiles
 * are read from the histogram (nearest rank, the bin's geometric middle,
 * clamped into [min, max]), so an estimate is within 9% of the true value and
 * exact while a minute holds one sample. Memory is allocated once (about
 * 22 KiB for an hour) whatever the traffic, and recording is a few array
 * writes: it stays on the Ping path, which writes nothing to storage.
 */
export class PushLatency {
  readonly #size: number;
  readonly #now: () => number;
  /** Minute number (epoch ms / 60 000) each slot holds, -1 when empty. */
  readonly #minute: Float64Array;
  readonly #pushes: Uint32Array;
  readonly #caughtUp: Uint32Array;
  readonly #min: Float64Array;
  readonly #max: Float64Array;
  readonly #bins: Uint32Array;

  constructor(options: PushLatencyOptions = {}) {
    this.#size = options.minutes ?? PUSH_LIMITS.latencyMinutes;
    this.#now = options.now ?? Date.now;
    this.#minute = new Float64Array(this.#size).fill(-1);
    this.#pushes = new Uint32Array(this.#size);
    this.#caughtUp = new Uint32Array(this.#size);
    this.#min = new Float64Array(this.#size);
    this.#max = new Float64Array(this.#size);
    this.#bins = new Uint32Array(this.#size * BINS);
  }

  /** Records one push that took `latencyMs`, answered at `at` (default now). */
  record(latencyMs: number, at: number = this.#now()): void {
    const slot = this.#slot(at);
    if (slot < 0) return;
    // A clock step backwards must not make a negative latency.
    const ms = Number.isFinite(latencyMs) ? Math.max(0, latencyMs) : 0;
    const n = this.#pushes[slot]!;
    this.#min[slot] = n === 0 ? ms : Math.min(this.#min[slot]!, ms);
    this.#max[slot] = n === 0 ? ms : Math.max(this.#max[slot]!, ms);
    this.#pushes[slot] = n + 1;
    this.#bins[slot * BINS + binOf(ms)]!++;
  }

  /** Counts a request answered at once for a change noticed before it arrived. */
  recordCaughtUp(at: number = this.#now()): void {
    const slot = this.#slot(at);
    if (slot >= 0) this.#caughtUp[slot]!++;
  }

  /** The kept minutes up to the current one, oldest first, and their summary. */
  lastHour(): PushLatencyHour {
    const current = Math.floor(this.#now() / MINUTE_MS);
    const minutes: PushLatencyMinute[] = [];
    const merged = new Uint32Array(BINS);
    let pushes = 0, caughtUp = 0, min = Infinity, max = -Infinity;
    for (let m = current - this.#size + 1; m <= current; m++) {
      const slot = m % this.#size;
      const entry: PushLatencyMinute = { at: m * MINUTE_MS, pushes: 0, caughtUp: 0 };
      if (this.#minute[slot] === m) {
        entry.pushes = this.#pushes[slot]!;
        entry.caughtUp = this.#caughtUp[slot]!;
        caughtUp += entry.caughtUp;
        if (entry.pushes > 0) {
          const bins = this.#bins.subarray(slot * BINS, (slot + 1) * BINS);
          const lo = this.#min[slot]!, hi = this.#max[slot]!;
          entry.p50Ms = quantile(bins, entry.pushes, 0.5, lo, hi);
          entry.p99Ms = quantile(bins, entry.pushes, 0.99, lo, hi);
          entry.maxMs = hi;
          for (let i = 0; i < BINS; i++) merged[i]! += bins[i]!;
          pushes += entry.pushes;
          min = Math.min(min, lo);
          max = Math.max(max, hi);
        }
      }
      minutes.push(entry);
    }
    const hour: PushLatencyHour = { minutes, pushes, caughtUp };
    if (pushes > 0) {
      hour.p50Ms = quantile(merged, pushes, 0.5, min, max);
      hour.p99Ms = quantile(merged, pushes, 0.99, min, max);
      hour.maxMs = max;
    }
    return hour;
  }

  /** The slot of the minute of `at`, emptied first when it held an older minute; -1 for a minute already dropped. */
  #slot(at: number): number {
    const minute = Math.floor(at / MINUTE_MS);
    if (!Number.isFinite(minute) || minute < 0) return -1;
    const slot = minute % this.#size;
    const held = this.#minute[slot]!;
    if (held === minute) return slot;
    if (held > minute) return -1;
    this.#minute[slot] = minute;
    this.#pushes[slot] = 0;
    this.#caughtUp[slot] = 0;
    this.#bins.fill(0, slot * BINS, (slot + 1) * BINS);
    return slot;
  }
}

function binOf(ms: number): number {
  if (ms < 1) return 0;
  return Math.min(BINS - 1, 1 + Math.floor(Math.log2(ms) * BINS_PER_OCTAVE));
}

/** Nearest-rank quantile from a histogram: the geometric middle of the bin, clamped into [min, max]. */
function quantile(bins: Uint32Array, count: number, q: number, min: number, max: number): number {
  const rank = Math.max(1, Math.ceil(q * count));
  let seen = 0;
  let bin = BINS - 1;
  for (let i = 0; i < BINS; i++) {
    seen += bins[i]!;
    if (seen >= rank) {
      bin = i;
      break;
    }
  }
  const middle = bin === 0 ? 0 : 2 ** ((bin - 0.5) / BINS_PER_OCTAVE);
  // Tenths of a millisecond: finer than the clocks that feed it.
  return Math.round(Math.min(max, Math.max(min, middle)) * 10) / 10;
}
