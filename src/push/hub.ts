import { PUSH_LIMITS } from "./limits.ts";
import { PushLatency } from "./push_latency.ts";
import type { FolderWatcher, WatchCredentials, WatcherFactory, WatchSink, WatchState } from "./watcher.ts";

/** How a held request ended. */
export type WaitOutcome =
  /** Some watched folders changed (MS-ASCMD Ping Status 2). */
  | { kind: "changed"; keys: string[] }
  /** Ended by {@link ChangeHub.kick}: a wipe or policy change the device must learn of now. */
  | { kind: "kicked" }
  /** The hold time passed without changes (Ping Status 1). */
  | { kind: "expired" }
  /** A newer request of the same device took over. */
  | { kind: "superseded" }
  /** The client went away. */
  | { kind: "aborted" }
  /** The hub shut down. */
  | { kind: "closed" };

/** One request to hold. */
export interface WaitRequest {
  user: string;
  /** The EAS DeviceId: one held request per user and device. */
  device: string;
  /** Backend folder keys to watch ("imap:INBOX", "dav:...", "local:..."). */
  keys: readonly string[];
  /** How long to hold before answering "expired". */
  timeoutMs: number;
  /** Handed to a watcher when one must be opened; kept in memory only. */
  credentials: WatchCredentials;
  signal?: AbortSignal;
  /** Answer no earlier than this (a slowed request storm), changes included. */
  minHoldMs?: number;
}

/** Last Ping parameters of a device, for the empty Ping body (MS-ASCMD 2.2.1.13). */
export interface PingParams {
  folders: readonly { id: string; class: string }[];
  heartbeatSeconds: number;
}

/** Health of one user's watchers, for the status page. */
export interface UserWatchStatus {
  user: string;
  held: number;
  keys: number;
  watchers: { prefix: string; state: WatchState; detail?: string }[];
}

/** Counters of the hub. */
export interface HubStats {
  held: number;
  users: number;
  watchers: number;
  unreachable: number;
  rememberedDevices: number;
}

/** Options of the hub; defaults from {@link PUSH_LIMITS}. */
export interface HubOptions {
  factories?: readonly WatcherFactory[];
  tickMs?: number;
  lingerMs?: number;
  maxRememberedDevices?: number;
  now?: () => number;
  /**
   * Where push latencies are recorded (default: a new recorder on the hub's
   * clock). A hub that replaces another passes the old one's, so the status
   * page's hour survives applied settings.
   */
  latency?: PushLatency;
}

interface Waiter {
  user: UserWatch;
  device: DeviceMemo;
  keys: readonly string[];
  deadline: number;
  notBefore: number;
  /** Bucket of the deadline wheel holding this waiter. */
  bucket: number;
  /** Changes seen while held back by `notBefore`. */
  pending: Set<string> | null;
  /**
   * When the watcher noticed the first change that ends this request (hub
   * clock), or "missed" when the change came before the request did.
   */
  noticedAt: number | "missed" | undefined;
  kicked: boolean;
  resolve: (outcome: WaitOutcome) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface WatcherEntry {
  prefix: string;
  watcher: FolderWatcher;
  keys: Set<string>;
  state: WatchState;
  detail: string | undefined;
}

interface UserWatch {
  user: string;
  credentials: WatchCredentials;
  waiters: Set<Waiter>;
  watchers: Map<string, WatcherEntry>;
  /** Current state token per folder key as the watchers last observed it. */
  tokens: Map<string, string>;
  lingerUntil: number;
  /** Counter for watchers that report changes without a token. */
  serial: number;
}

interface DeviceMemo {
  key: string;
  held: Waiter | undefined;
  ping: PingParams | undefined;
  /** The folder state token this device was last told about, per key. */
  seen: Map<string, string>;
}

/**
 * The change hub: holds Pings and hanging Syncs as small records, opens one
 * watcher per active user and bridge (shared by all of the user's devices and
 * requests), and answers held requests when their folders change, when they
 * expire, or when a newer request of the same device supersedes them.
 *
 * Deadlines live in a wheel of one-tick buckets driven by one shared timer,
 * not a timer per request. Everything is in memory: a quiet Ping touches no
 * storage at all.
 *
 * A device is told about a change once: the hub remembers, per device and
 * folder, the state token it last answered with, so a change that lands
 * between two Pings (while the phone syncs) ends the next Ping at once, and a
 * watcher reopened after a pause still notices what happened meanwhile.
 *
 * Push latency (for the status page) is the time from the watcher noticing a
 * change to the hub releasing the held request it wakes, recorded in memory
 * in {@link ChangeHub.latency}.
 */
export class ChangeHub {
  readonly #factories: readonly WatcherFactory[];
  readonly #tickMs: number;
  readonly #lingerMs: number;
  readonly #maxDevices: number;
  readonly #now: () => number;
  /** Latency of the pushes of the last hour (memory only). */
  readonly latency: PushLatency;
  readonly #users = new Map<string, UserWatch>();
  readonly #devices = new Map<string, DeviceMemo>();
  readonly #wheel = new Map<number, Set<Waiter>>();
  readonly #lingering = new Set<UserWatch>();
  #held = 0;
  #cursor = 0;
  #ticking = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: HubOptions = {}) {
    this.#factories = options.factories ?? [];
    this.#tickMs = options.tickMs ?? PUSH_LIMITS.tickMs;
    this.#lingerMs = options.lingerMs ?? PUSH_LIMITS.watcherLingerMs;
    this.#maxDevices = options.maxRememberedDevices ?? PUSH_LIMITS.rememberedDevices;
    this.#now = options.now ?? Date.now;
    this.latency = options.latency ?? new PushLatency({ now: this.#now });
  }

  /**
   * Holds a request until its folders change, it expires, a newer request of
   * the same device arrives, it is kicked, or its signal aborts. A change the
   * device has not been told about yet answers at once.
   */
  wait(request: WaitRequest): Promise<WaitOutcome> {
    if (this.#closed) return Promise.resolve({ kind: "closed" });
    if (request.signal?.aborted) return Promise.resolve({ kind: "aborted" });
    const device = this.#device(request.user, request.device);
    if (device.held) this.#finish(device.held, { kind: "superseded" });
    const user = this.#userWatch(request.user, request.credentials);
    const now = this.#now();
    const { promise, resolve } = Promise.withResolvers<WaitOutcome>();
    const waiter: Waiter = {
      user,
      device,
      keys: request.keys,
      deadline: now + request.timeoutMs,
      notBefore: now + (request.minHoldMs ?? 0),
      bucket: -1,
      pending: null,
      noticedAt: undefined,
      kicked: false,
      resolve,
      signal: request.signal,
      onAbort: undefined,
    };
    device.held = waiter;
    user.waiters.add(waiter);
    this.#lingering.delete(user);
    user.lingerUntil = 0;
    this.#held++;
    if (request.signal) {
      const onAbort = () => this.#finish(waiter, { kind: "aborted" });
      waiter.onAbort = onAbort;
      request.signal.addEventListener("abort", onAbort, { once: true });
    }
    this.#schedule(waiter, waiter.deadline);
    const missed: string[] = [];
    for (const key of request.keys) {
      const token = user.tokens.get(key);
      if (token === undefined) continue;
      const seen = device.seen.get(key);
      if (seen === undefined) device.seen.set(key, token);
      else if (seen !== token) missed.push(key);
    }
    this.#watch(user, request.keys);
    if (missed.length > 0 && device.held === waiter) this.#deliver(waiter, missed, "missed");
    return promise;
  }

  /**
   * Ends the held requests of a user (or of one device) with "kicked", so a
   * pending remote wipe or policy change reaches the phone now instead of at
   * the end of its heartbeat (the provisioning code calls this).
   */
  kick(user: string, device?: string): number {
    const watch = this.#users.get(user);
    if (!watch) return 0;
    let count = 0;
    for (const waiter of [...watch.waiters]) {
      if (device !== undefined && waiter.device.key !== deviceKey(user, device)) continue;
      waiter.kicked = true;
      this.#finish(waiter, { kind: "kicked" });
      count++;
    }
    return count;
  }

  /** Ends the held request of a device because another request of it arrived. */
  supersede(user: string, device: string): boolean {
    const held = this.#devices.get(deviceKey(user, device))?.held;
    if (!held) return false;
    this.#finish(held, { kind: "superseded" });
    return true;
  }

  /**
   * Records that a device now has the current state of these folders (a Sync
   * answered it), so the next Ping does not wake for changes it already has.
   * With `tokens` (the folder state the Sync read, in the watcher's token
   * format) a key is marked only while the watcher's token is the same: a
   * change that arrived after the Sync's scan still wakes the next Ping.
   */
  markSeen(user: string, device: string, keys: readonly string[], tokens?: readonly string[]): void {
    const watch = this.#users.get(user);
    const memo = this.#devices.get(deviceKey(user, device));
    if (!watch || !memo) return;
    keys.forEach((key, i) => {
      const token = watch.tokens.get(key);
      if (token !== undefined && (tokens === undefined || tokens[i] === token)) memo.seen.set(key, token);
    });
  }

  /** Remembers a device's Ping parameters (memory only: an empty Ping body repeats them). */
  rememberPing(user: string, device: string, params: PingParams): void {
    this.#device(user, device).ping = params;
  }

  /** The Ping parameters a device sent last, if still remembered. */
  recallPing(user: string, device: string): PingParams | undefined {
    return this.#devices.get(deviceKey(user, device))?.ping;
  }

  /** Counters for the status page and the benchmarks. */
  stats(): HubStats {
    let watchers = 0;
    let unreachable = 0;
    for (const user of this.#users.values()) {
      for (const entry of user.watchers.values()) {
        watchers++;
        if (entry.state === "unreachable") unreachable++;
      }
    }
    return {
      held: this.#held,
      users: this.#users.size,
      watchers,
      unreachable,
      rememberedDevices: this.#devices.size,
    };
  }

  /** Per-user watcher health (the status page shows an unreachable mailstore here). */
  status(): UserWatchStatus[] {
    return [...this.#users.values()].map((u) => ({
      user: u.user,
      held: u.waiters.size,
      keys: u.tokens.size,
      watchers: [...u.watchers.values()].map((w) => ({
        prefix: w.prefix,
        state: w.state,
        ...(w.detail !== undefined ? { detail: w.detail } : {}),
      })),
    }));
  }

  /** Answers every held request with "closed" and closes all watchers. */
  close(): void {
    this.#closed = true;
    for (const user of [...this.#users.values()]) {
      for (const waiter of [...user.waiters]) this.#finish(waiter, { kind: "closed" });
      this.#dropUser(user);
    }
    this.#stopTimer();
  }

  #device(user: string, device: string): DeviceMemo {
    const key = deviceKey(user, device);
    let memo = this.#devices.get(key);
    if (memo) {
      // Re-insert so Map order stays least-recently-used first.
      this.#devices.delete(key);
    } else {
      memo = { key, held: undefined, ping: undefined, seen: new Map() };
      this.#evictDevices();
    }
    this.#devices.set(key, memo);
    return memo;
  }

  #evictDevices(): void {
    if (this.#devices.size < this.#maxDevices) return;
    for (const [key, memo] of this.#devices) {
      if (memo.held) continue;
      this.#devices.delete(key);
      if (this.#devices.size < this.#maxDevices) return;
    }
  }

  #userWatch(user: string, credentials: WatchCredentials): UserWatch {
    let watch = this.#users.get(user);
    if (!watch) {
      watch = {
        user,
        credentials,
        waiters: new Set(),
        watchers: new Map(),
        tokens: new Map(),
        lingerUntil: 0,
        serial: 0,
      };
      this.#users.set(user, watch);
    } else if (watch.credentials.password !== credentials.password) {
      // A changed password: watchers logged in with the old one are reopened.
      watch.credentials = credentials;
      const entries = [...watch.watchers.values()];
      watch.watchers.clear();
      for (const entry of entries) {
        entry.watcher.close();
        this.#watch(watch, [...entry.keys]);
      }
    }
    return watch;
  }

  /** Widens the user's watchers to cover these keys, opening watchers as needed. */
  #watch(user: UserWatch, keys: readonly string[]): void {
    const added = new Map<WatcherEntry, boolean>();
    for (const key of keys) {
      const factory = this.#factories.find((f) => key.startsWith(f.prefix));
      // Keys no bridge watches ("local:" placeholders) never change.
      if (!factory) continue;
      let entry = user.watchers.get(factory.prefix);
      if (!entry) {
        entry = this.#openWatcher(user, factory);
        if (!entry) continue;
      }
      if (!entry.keys.has(key)) {
        entry.keys.add(key);
        added.set(entry, true);
      }
    }
    for (const entry of added.keys()) {
      if (user.watchers.get(entry.prefix) === entry) entry.watcher.watch([...entry.keys]);
    }
  }

  #openWatcher(user: UserWatch, factory: WatcherFactory): WatcherEntry | undefined {
    const entry: WatcherEntry = {
      prefix: factory.prefix,
      watcher: undefined as unknown as FolderWatcher,
      keys: new Set(),
      state: "connecting",
      detail: undefined,
    };
    const live = () => user.watchers.get(factory.prefix) === entry && this.#users.get(user.user) === user;
    const sink: WatchSink = {
      changed: (keys, tokens, noticedAt) => {
        if (live()) this.#observe(user, keys, tokens, noticedAt);
      },
      state: (state, detail) => {
        if (!live()) return;
        entry.state = state;
        entry.detail = detail;
      },
    };
    user.watchers.set(factory.prefix, entry);
    entry.watcher = factory.open(user.credentials, sink);
    return entry;
  }

  /**
   * Takes a watcher's observation: new tokens for keys (or bare change
   * reports), and wakes the waiters whose device has not seen them.
   */
  #observe(
    user: UserWatch,
    keys: readonly string[],
    tokens?: readonly string[],
    noticedAt?: readonly number[],
  ): void {
    const now = this.#now();
    const changed = new Map<string, number>();
    for (const [i, key] of keys.entries()) {
      const before = user.tokens.get(key);
      const token = tokens?.[i] ?? `~${++user.serial}`;
      if (before === token) continue;
      user.tokens.set(key, token);
      // A watcher's own notice time is used when earlier than now (never a future one).
      const at = noticedAt?.[i];
      changed.set(key, at !== undefined && Number.isFinite(at) ? Math.min(at, now) : now);
    }
    if (changed.size === 0) return;
    for (const waiter of [...user.waiters]) {
      const hits: string[] = [];
      let first = Infinity;
      for (const [key, at] of changed) {
        if (!waiter.keys.includes(key)) continue;
        const seen = waiter.device.seen.get(key);
        if (seen === undefined) {
          // First observation since this device pinged: that is its baseline.
          waiter.device.seen.set(key, user.tokens.get(key)!);
        } else if (seen !== user.tokens.get(key)) {
          hits.push(key);
          first = Math.min(first, at);
        }
      }
      if (hits.length > 0) this.#deliver(waiter, hits, first);
    }
  }

  /** Ends a waiter for changed keys, or keeps them pending while it is held back by `notBefore`. */
  #deliver(waiter: Waiter, keys: string[], noticedAt: number | "missed"): void {
    if (waiter.noticedAt === undefined) waiter.noticedAt = noticedAt;
    else if (typeof waiter.noticedAt === "number" && typeof noticedAt === "number") {
      waiter.noticedAt = Math.min(waiter.noticedAt, noticedAt);
    }
    const now = this.#now();
    if (now < waiter.notBefore) {
      waiter.pending ??= new Set();
      for (const key of keys) waiter.pending.add(key);
      this.#schedule(waiter, waiter.notBefore);
      return;
    }
    this.#finish(waiter, { kind: "changed", keys });
  }

  #finish(waiter: Waiter, outcome: WaitOutcome): void {
    const user = waiter.user;
    if (!user.waiters.delete(waiter)) return;
    this.#held--;
    this.#unschedule(waiter);
    if (waiter.device.held === waiter) waiter.device.held = undefined;
    if (waiter.onAbort) waiter.signal?.removeEventListener("abort", waiter.onAbort);
    if (outcome.kind === "changed") {
      for (const key of outcome.keys) {
        const token = user.tokens.get(key);
        if (token !== undefined) waiter.device.seen.set(key, token);
      }
      const now = this.#now();
      if (waiter.noticedAt === "missed") this.latency.recordCaughtUp(now);
      else if (waiter.noticedAt !== undefined) this.latency.record(now - waiter.noticedAt, now);
    }
    if (user.waiters.size === 0 && !this.#closed) {
      user.lingerUntil = this.#now() + this.#lingerMs;
      this.#lingering.add(user);
      this.#startTimer();
    }
    waiter.resolve(outcome);
  }

  #dropUser(user: UserWatch): void {
    this.#lingering.delete(user);
    if (this.#users.get(user.user) === user) this.#users.delete(user.user);
    for (const entry of user.watchers.values()) entry.watcher.close();
    user.watchers.clear();
  }

  #schedule(waiter: Waiter, at: number): void {
    this.#unschedule(waiter);
    this.#startTimer();
    // While the wheel turns, the bucket under the cursor is already being emptied.
    const bucket = Math.max(Math.ceil(at / this.#tickMs), this.#cursor + (this.#ticking ? 1 : 0));
    let set = this.#wheel.get(bucket);
    if (!set) {
      set = new Set();
      this.#wheel.set(bucket, set);
    }
    set.add(waiter);
    waiter.bucket = bucket;
  }

  #unschedule(waiter: Waiter): void {
    const set = this.#wheel.get(waiter.bucket);
    if (!set) return;
    set.delete(waiter);
    if (set.size === 0) this.#wheel.delete(waiter.bucket);
  }

  #startTimer(): void {
    if (this.#timer !== undefined) return;
    this.#cursor = Math.floor(this.#now() / this.#tickMs);
    this.#timer = setInterval(() => this.#tick(), this.#tickMs);
  }

  #stopTimer(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const now = this.#now();
    const current = Math.floor(now / this.#tickMs);
    this.#ticking = true;
    for (; this.#cursor <= current; this.#cursor++) {
      const set = this.#wheel.get(this.#cursor);
      if (!set) continue;
      this.#wheel.delete(this.#cursor);
      for (const waiter of set) {
        waiter.bucket = -1;
        if (waiter.pending && now >= waiter.notBefore) {
          this.#finish(waiter, { kind: "changed", keys: [...waiter.pending] });
        } else if (now >= waiter.deadline) {
          this.#finish(waiter, { kind: "expired" });
        } else {
          this.#schedule(waiter, waiter.pending ? waiter.notBefore : waiter.deadline);
        }
      }
    }
    this.#ticking = false;
    for (const user of this.#lingering) {
      if (user.waiters.size === 0 && now >= user.lingerUntil) this.#dropUser(user);
    }
    if (this.#wheel.size === 0 && this.#lingering.size === 0) this.#stopTimer();
  }
}

function deviceKey(user: string, device: string): string {
  return `${user}\0${device}`;
}
