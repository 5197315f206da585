/**
 * The interface between the change hub and the bridges that watch a backend
 * (IMAP NOTIFY/IDLE, CalDAV/CardDAV polling). The hub owns the lifetime: it
 * opens one watcher per user and key prefix when the first request is held,
 * widens its key set as more folders are pinged, and closes it a while after
 * the last request ends. Bridges implement {@link WatcherFactory}; the hub
 * never does I/O itself.
 */

/** Credentials a watcher logs in with; handed over from the held request, kept only in memory. */
export interface WatchCredentials {
  user: string;
  password: string;
}

/** Health of one watcher, shown on the status page. */
export type WatchState = "connecting" | "watching" | "unreachable";

/** Where a watcher reports to; given to it when it is opened. */
export interface WatchSink {
  /**
   * The state of some watched folders, as observed now. `tokens[i]` is an
   * opaque state token of `keys[i]` (e.g. UIDVALIDITY.UIDNEXT.MESSAGES.HIGHESTMODSEQ,
   * a DAV sync-token or getctag): the hub compares it with what each device
   * was last told. Without tokens, every call counts as a change of the keys.
   * Watchers report the first state they read, too: that is how a device that
   * was offline while the watcher was closed still learns of changes.
   *
   * `noticedAt[i]` (optional, ms since epoch in the hub's clock, Date.now by
   * default) is when the watcher first heard that `keys[i]` may have changed:
   * the IMAP untagged EXISTS/STATUS that made it read the state again, or the
   * answer of a poll. The status page's push latency is measured from there;
   * without it, from this call.
   */
  changed(keys: readonly string[], tokens?: readonly string[], noticedAt?: readonly number[]): void;
  /** The watcher's connection state changed; `detail` explains an unreachable backend. */
  state(state: WatchState, detail?: string): void;
}

/** One user's watcher for the folders of one bridge. */
export interface FolderWatcher {
  /** Sets the full set of folder keys to watch (only keys with the factory's prefix are given). */
  watch(keys: readonly string[]): void;
  /** Stops watching and frees the connection. */
  close(): void;
}

/** Opens watchers of one bridge, recognized by the folder key prefix it owns ("imap:", "dav:"). */
export interface WatcherFactory {
  readonly prefix: string;
  open(credentials: WatchCredentials, sink: WatchSink): FolderWatcher;
}
