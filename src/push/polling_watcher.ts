import { PUSH_LIMITS } from "./limits.ts";
import type { FolderWatcher, WatchCredentials, WatcherFactory, WatchSink } from "./watcher.ts";

/**
 * Reads the current state token of one collection: a WebDAV sync-token
 * (RFC 6578) or a getctag. Supplied by the bridge that owns the collections;
 * it throws when the server cannot be reached.
 */
export type StateProbe = (credentials: WatchCredentials, key: string) => Promise<string>;

/** Options of a {@link PollingWatcherFactory}. */
export interface PollingOptions {
  /** Folder key prefix the bridge owns ("dav:"). */
  prefix: string;
  probe: StateProbe;
  /** Poll interval; default {@link PUSH_LIMITS.davPollMs}. */
  intervalMs?: number;
}

/**
 * Watchers for backends without push (CalDAV/CardDAV): each pinged
 * collection of a user is probed once per interval, whatever the number of
 * devices and requests waiting on it, and only while the hub keeps the
 * watcher open (some device is pinging). The DAV bridge plugs in its probe.
 */
export class PollingWatcherFactory implements WatcherFactory {
  readonly prefix: string;
  readonly #probe: StateProbe;
  readonly #intervalMs: number;

  constructor(options: PollingOptions) {
    this.prefix = options.prefix;
    this.#probe = options.probe;
    this.#intervalMs = options.intervalMs ?? PUSH_LIMITS.davPollMs;
  }

  /** Opens a watcher that probes the user's watched collections every interval. */
  open(credentials: WatchCredentials, sink: WatchSink): FolderWatcher {
    return new PollingWatcher(credentials, sink, this.#probe, this.#intervalMs);
  }
}

class PollingWatcher implements FolderWatcher {
  #keys: readonly string[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #running = false;
  #closed = false;

  constructor(
    private readonly credentials: WatchCredentials,
    private readonly sink: WatchSink,
    private readonly probe: StateProbe,
    private readonly intervalMs: number,
  ) {}

  watch(keys: readonly string[]): void {
    if (this.#closed) return;
    const fresh = keys.filter((k) => !this.#keys.includes(k));
    this.#keys = [...keys];
    this.#timer ??= setInterval(() => void this.#poll(this.#keys), this.intervalMs);
    // New collections get their first token now: the baseline the hub compares with.
    if (fresh.length > 0) void this.#poll(fresh);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #poll(keys: readonly string[]): Promise<void> {
    // A slow server must not stack polls up: skip a round while one runs.
    if (this.#running || this.#closed) return;
    this.#running = true;
    try {
      const tokens: string[] = [];
      const seen: string[] = [];
      // When each answer came: a change found early in a long round is timed from its own probe.
      const answered: number[] = [];
      let failure: unknown;
      for (const key of keys) {
        try {
          tokens.push(await this.probe(this.credentials, key));
          seen.push(key);
          answered.push(Date.now());
        } catch (error) {
          failure = error;
        }
      }
      if (this.#closed) return;
      if (seen.length > 0) this.sink.changed(seen, tokens, answered);
      if (failure === undefined) this.sink.state("watching");
      else this.sink.state("unreachable", failure instanceof Error ? failure.message : String(failure));
    } finally {
      this.#running = false;
    }
  }
}
